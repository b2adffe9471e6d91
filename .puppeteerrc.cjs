// Skip puppeteer's own Chrome download when a system Chromium is named or present;
// a user elsewhere still gets puppeteer's Chrome with a plain `npm install`.
const fs = require('node:fs');
const systemChrome = process.env.CHROME_PATH || '/usr/bin/chromium';
module.exports = {
  skipDownload: process.env.PUPPETEER_SKIP_DOWNLOAD === 'true' || fs.existsSync(systemChrome),
};

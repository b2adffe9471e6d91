// Skip puppeteer's own Chrome download when a system Chromium is named or present;
// a user elsewhere still gets puppeteer's Chrome with a plain `npm install`.
const fs = require('node:fs');
const systemChromes = [process.env.CHROME_PATH, '/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium'].filter(Boolean);
module.exports = {
  skipDownload: process.env.PUPPETEER_SKIP_DOWNLOAD === 'true' || systemChromes.some((path) => fs.existsSync(path)),
};

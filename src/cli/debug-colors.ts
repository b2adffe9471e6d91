import tty from 'node:tty';

// puppeteer builds a `debug` logger for every DevTools message, and each one asks
// isatty(stderr) to choose its colours: ~9 % of node's CPU on heavy pages. The package reads
// DEBUG_COLORS once, when it loads, and then asks no more; this answers it with what isatty
// says now, so DEBUG=puppeteer:* prints the same. Imported first by the entry point, before
// anything loads `debug`.
process.env['DEBUG_COLORS'] ??= String(tty.isatty(process.stderr.fd));

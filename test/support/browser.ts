/**
 * @file How the tests start Debian's Chromium (playwright-core cannot
 * download a browser here): one place for the path and the flags that keep
 * it quiet on a machine without internet.
 */
export const CHROMIUM_LAUNCH = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
  ],
};

/** The crawlers every integration test sends, and what each must get. */

/** User agents of the crawlers every edge must send to rendercache. */
export const CRAWLERS = {
  Googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Googlebot Smartphone':
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  Bingbot: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  GPTBot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
  ClaudeBot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)',
  PerplexityBot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)',
  facebookexternalhit: 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
} as const;
export type CrawlerName = keyof typeof CRAWLERS;
export const GOOGLEBOT = CRAWLERS.Googlebot;
export const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** The variant each crawler's User-Agent gets from a site with desktop and mobile variants (edgeSites). */
export const CRAWLER_DEVICE: Record<CrawlerName, 'desktop' | 'mobile'> = {
  Googlebot: 'desktop',
  'Googlebot Smartphone': 'mobile',
  Bingbot: 'desktop',
  GPTBot: 'desktop',
  ClaudeBot: 'desktop',
  PerplexityBot: 'desktop',
  facebookexternalhit: 'desktop',
};

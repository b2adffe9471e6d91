import { variantKey } from '../cache/key.js';
import type { PageCache } from '../cache/page-cache.js';
import type { PagePlanner } from '../jobs/refresh-flow.js';
import type { JobRecord, PageTarget } from '../jobs/types.js';
import type { Site } from '../sites/site.js';
import type { CrawlerDemand } from './crawler-demand.js';
import { freshnessRules } from './freshness-rules.js';

/**
 * Plans a refresh's pages. A scheduled refresh of a site with freshness rules keeps only the
 * pages older than their rule's maxAge (or not cached at all); every refresh renders the
 * pages crawlers asked for lately before the others, so that one cut short by its deadline
 * or a restart has spent its time where bots look.
 */
export class RefreshPagePlanner implements PagePlanner {
  constructor(
    private readonly cache: PageCache,
    private readonly demand: CrawlerDemand,
  ) {}

  async plan(site: Site, job: JobRecord, pages: PageTarget[], now = Date.now()): Promise<PageTarget[]> {
    const due = job.trigger === 'schedule' ? await this.due(site, pages, now) : pages;
    const asked = await this.demand.recentlyRequested(site.id, now).catch(() => new Set<string>());
    if (asked.size === 0) return due;
    const first: PageTarget[] = [];
    const rest: PageTarget[] = [];
    for (const page of due) (asked.has(variantKey(page.url, page.variant)) ? first : rest).push(page);
    return [...first, ...rest];
  }

  /** The pages older than their rule's maxAge, or not cached; all of them when the site has no rules. */
  private async due(site: Site, pages: PageTarget[], now: number): Promise<PageTarget[]> {
    const rules = freshnessRules(site.config);
    if (!rules) return pages;
    const since = await this.cache.freshSinceOf(pages.map((page) => variantKey(page.url, page.variant)));
    return pages.filter((page, i) => {
      const freshSince = since[i];
      const maxAge = rules.rules[rules.ruleOf(page.url)]?.maxAge ?? 0;
      return freshSince === null || freshSince === undefined || now - freshSince >= maxAge;
    });
  }
}

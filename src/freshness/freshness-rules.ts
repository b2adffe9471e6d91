import picomatch from 'picomatch';
import type { FreshnessRule, SiteConfig } from '../config/schema.js';

/** A site's freshness rules, compiled once: which rule a page falls under. */
export interface CompiledRules {
  readonly rules: readonly FreshnessRule[];
  /** The index of the first rule whose `match` names the page's path (the last, the default, names all). */
  ruleOf(pageUrl: string): number;
}

const compiled = new WeakMap<SiteConfig, CompiledRules | null>();

/** The site's rules, compiled on first use; null when it has none. */
export function freshnessRules(site: SiteConfig): CompiledRules | null {
  let known = compiled.get(site);
  if (known === undefined) {
    known = site.freshness ? compile(site.freshness) : null;
    compiled.set(site, known);
  }
  return known;
}

function compile(rules: readonly FreshnessRule[]): CompiledRules {
  const matchers = rules.map((rule) => (rule.match === undefined ? () => true : picomatch(rule.match, { dot: true })));
  return {
    rules,
    ruleOf(pageUrl) {
      const path = new URL(pageUrl).pathname;
      const index = matchers.findIndex((matches) => matches(path));
      return index === -1 ? rules.length - 1 : index;
    },
  };
}

/** Whether incremental refresh may keep this page: its rule's `incremental`, else the site's. */
export function isIncremental(site: SiteConfig, pageUrl: string): boolean {
  const rules = freshnessRules(site);
  const own = rules ? rules.rules[rules.ruleOf(pageUrl)]?.incremental : undefined;
  return own ?? site.incremental;
}

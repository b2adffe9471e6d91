import { Parser } from 'htmlparser2';

/** The href of every <a> in an HTML document, resolved against its URL. */
export function extractLinks(html: string, baseUrl: string): string[] {
  const links: string[] = [];
  let base = baseUrl;
  const parser = new Parser({
    onopentag(name, attributes) {
      if (name === 'base' && attributes.href) {
        try {
          base = new URL(attributes.href, baseUrl).href;
        } catch {
          /* keep the page URL */
        }
      }
      if (name === 'a' && attributes.href && !/^(javascript|mailto|tel):/i.test(attributes.href)) {
        try {
          links.push(new URL(attributes.href, base).href);
        } catch {
          /* not a URL */
        }
      }
    },
  });
  parser.write(html);
  parser.end();
  return links;
}

/**
 * The web app manifest (emitted as manifest.webmanifest by the service worker
 * plugin). Every URL in it is relative to the manifest, so an installed app
 * opens the folder it was installed from, under any sub-path.
 */

/** A paper plane (pre-flight): an SVG, so one icon fits every size. */
const ICON_SVG = [
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">',
  '<rect width="64" height="64" rx="14" fill="#2a5bd7"/>',
  '<path d="M12 38l40-18-14 30-6-12z" fill="#f6f7f9"/>',
  '<path d="M32 38l20-18" stroke="#2a5bd7" stroke-width="3"/>',
  '</svg>',
].join('');

/** Inline, so the icon is no extra file and the page's `img-src data:` already admits it. */
const ICON_DATA_URL = `data:image/svg+xml,${encodeURIComponent(ICON_SVG)}`;

/** The manifest's members (https://www.w3.org/TR/appmanifest/). */
export const WEB_APP_MANIFEST = {
  id: './',
  name: 'Preflight: inspect model files before loading them',
  short_name: 'Preflight',
  description: 'Inspect machine-learning model files in your browser before anyone loads them. Nothing is uploaded.',
  start_url: './',
  scope: './',
  display: 'standalone',
  background_color: '#f6f7f9',
  theme_color: '#2a5bd7',
  icons: [{ src: ICON_DATA_URL, sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
} as const;

// Inline SVG icons (stroke icons on a 24×24 grid; `currentColor`). No icon font, no requests.

const A = 'viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"';

const PATHS = {
  logo: '<path d="M2.5 17.5h19M4.5 17.5v-3.2M19.5 17.5v-3.2M4.5 14.3c3-5.4 12-5.4 15 0M8.5 17.5v-5M12 17.5v-6M15.5 17.5v-5"/>',
  mic: '<rect x="9" y="2.5" width="6" height="11.5" rx="3"/><path d="M5.5 10.5v.5a6.5 6.5 0 0 0 13 0v-.5M12 17.5v4M8.5 21.5h7"/>',
  micOff: '<path d="M15 9.3V5.5a3 3 0 0 0-5.7-1.3M9 9v2a3 3 0 0 0 4.7 2.5M18.5 10.5v.5a6.4 6.4 0 0 1-1.1 3.6M5.5 10.5v.5a6.5 6.5 0 0 0 10.7 5M12 17.5v4M8.5 21.5h7M3 3l18 18"/>',
  camera: '<rect x="2.5" y="6" width="13.5" height="12" rx="2.5"/><path d="M16 10.2l5.5-3.2v10l-5.5-3.2z"/>',
  cameraOff: '<path d="M10 6h3.5A2.5 2.5 0 0 1 16 8.5v3l5.5-4.5v10M16 16v-.5M16 15.5A2.5 2.5 0 0 1 13.5 18H5a2.5 2.5 0 0 1-2.5-2.5v-7A2.5 2.5 0 0 1 5 6M3 3l18 18"/>',
  leave: '<path d="M3 13.6c5-4.4 13-4.4 18 0l-1.7 2.6a1 1 0 0 1-1.2.4l-3-1.2a1 1 0 0 1-.6-.9v-2c-2.3-.8-4.7-.8-7 0v2a1 1 0 0 1-.6.9l-3 1.2a1 1 0 0 1-1.2-.4z" fill="currentColor"/>',
  users: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6M16 4.6a3.5 3.5 0 0 1 0 6.8M18 14.3c2.1.7 3.5 2.8 3.5 5.7"/>',
  check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
  search: '<circle cx="11" cy="11" r="7"/><path d="M20.5 20.5l-4.5-4.5"/>',
  alert: '<circle cx="12" cy="12" r="9.5"/><path d="M12 7.5v5.5M12 16.6v.01"/>',
  globe: '<circle cx="12" cy="12" r="9.5"/><path d="M2.5 12h19M12 2.5c2.5 2.7 3.8 6 3.8 9.5s-1.3 6.8-3.8 9.5c-2.5-2.7-3.8-6-3.8-9.5s1.3-6.8 3.8-9.5z"/>',
  speaker: '<path d="M4 9.5h3.5L12 5.5v13l-4.5-4H4z"/><path d="M15.5 9a4 4 0 0 1 0 6M18.5 6.5a8 8 0 0 1 0 11"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
  arrow: '<path d="M5 12h14M13 6l6 6-6 6"/>',
  refresh: '<path d="M20 11a8 8 0 0 0-14.6-4.5M4 4v4h4M4 13a8 8 0 0 0 14.6 4.5M20 20v-4h-4"/>',
  building: '<path d="M4 21V7l8-4 8 4v14M2.5 21h19M8 10.5v6M12 10.5v6M16 10.5v6"/>',
  user: '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4.4 3.6-7 8-7s8 2.6 8 7"/>',
  door: '<path d="M14 3.5H6.5v17H14M10 12h10.5M17 8.5l3.5 3.5-3.5 3.5"/>',
  hand: '<path d="M8 12.5V5.8a1.6 1.6 0 0 1 3.2 0v5.7M11.2 11V4.3a1.6 1.6 0 0 1 3.2 0V11M14.4 11V5.6a1.6 1.6 0 0 1 3.2 0v7.9c0 4.3-2.7 7.5-6.6 7.5-2.6 0-4.2-1.3-5.5-3.4l-2.1-3.5a1.5 1.5 0 0 1 2.5-1.7L8 15"/>',
  chat: '<path d="M4 5.5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-9l-5 3.5v-3.5H4a1 1 0 0 1-1-1v-10a1 1 0 0 1 1-1z"/><path d="M7.5 10h9M7.5 13.5h6"/>',
  settings: '<path d="M4 6.5h9M17 6.5h3M4 12h3M11 12h9M4 17.5h11M19 17.5h1"/><circle cx="15" cy="6.5" r="2"/><circle cx="9" cy="12" r="2"/><circle cx="17" cy="17.5" r="2"/>',
  lock: '<rect x="5" y="10.5" width="14" height="10" rx="2"/><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3"/>',
  floor: '<path d="M4.5 8.5h15l-2 4h-11z"/><path d="M12 12.5v8M8 20.5h8M12 8.5V5M9.5 3.5h5"/>',
  send: '<path d="M21 3L10.5 13.5M21 3l-6.5 18-4-7.5L3 9.5z"/>',
  remove: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6M16.5 11.5h5"/>',
  screen: '<rect x="2.5" y="4" width="19" height="12.5" rx="2"/><path d="M8.5 20.5h7M12 16.5v4M12 13V7.5M9.5 10L12 7.5l2.5 2.5"/>',
  screenOff: '<rect x="2.5" y="4" width="19" height="12.5" rx="2"/><path d="M8.5 20.5h7M12 16.5v4"/><rect x="9.5" y="7.75" width="5" height="5" rx="0.8" fill="currentColor"/>',
  maximize: '<path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/>',
  minimize: '<path d="M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5"/>',
  download: '<path d="M12 3.5v12M7 10.5l5 5 5-5M4 20.5h16"/>',
  shield: '<path d="M12 2.5l8 3v6c0 4.8-3.4 8.6-8 10-4.6-1.4-8-5.2-8-10v-6z"/><path d="M8.5 12l2.5 2.5 4.5-5"/>',
  play: '<path d="M7 4.5v15l12.5-7.5z"/>',
  copy: '<rect x="8.5" y="8.5" width="12" height="12" rx="2"/><path d="M15.5 8.5V5a1.5 1.5 0 0 0-1.5-1.5H5A1.5 1.5 0 0 0 3.5 5v9A1.5 1.5 0 0 0 5 15.5h3.5"/>',
  trash: '<path d="M3.5 6.5h17M9 6.5V4.5a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1v2M6 6.5l1 13a1.5 1.5 0 0 0 1.5 1.4h7a1.5 1.5 0 0 0 1.5-1.4l1-13M10 10.5v6.5M14 10.5v6.5"/>',
};

/** The SVG markup of icon `name` (a known constant: safe for innerHTML). */
export function icon(name, className = 'icon') {
  const p = PATHS[name];
  if (!p) throw new Error(`unknown icon ${name}`);
  return `<svg class="${className}" ${A}>${p}</svg>`;
}

/** Fills every `<span data-icon="NAME">` below `root` with its SVG. */
export function hydrateIcons(root = document) {
  for (const el of root.querySelectorAll('[data-icon]')) {
    el.innerHTML = icon(el.dataset.icon);
  }
}

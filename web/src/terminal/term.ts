// The xterm instance and its addons: fit, WebGL with a DOM fallback, Unicode 11, links, search, themes.

import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal, type ITheme } from '@xterm/xterm';

const DARK: ITheme = {
  background: '#15171c', foreground: '#d9dde4', cursor: '#e6e9ef', cursorAccent: '#15171c',
  selectionBackground: '#3d4a63',
  black: '#4b5263', red: '#e06c75', green: '#98c379', yellow: '#d8b76e', blue: '#61afef', magenta: '#c678dd', cyan: '#56b6c2', white: '#c8ccd4',
  brightBlack: '#5c6370', brightRed: '#ef8189', brightGreen: '#aad98c', brightYellow: '#e5c987', brightBlue: '#7dbdf4', brightMagenta: '#d494e6', brightCyan: '#6fc6d1', brightWhite: '#f2f4f7',
};
const LIGHT: ITheme = {
  background: '#fbfbfa', foreground: '#24292f', cursor: '#24292f', cursorAccent: '#fbfbfa',
  selectionBackground: '#c8dcf5',
  black: '#24292f', red: '#cf222e', green: '#116329', yellow: '#7d5a00', blue: '#0969da', magenta: '#8250df', cyan: '#1b7c83', white: '#6e7781',
  brightBlack: '#57606a', brightRed: '#a40e26', brightGreen: '#1a7f37', brightYellow: '#946b00', brightBlue: '#218bff', brightMagenta: '#a475f9', brightCyan: '#3192aa', brightWhite: '#8c959f',
};

export type Renderer = 'webgl' | 'dom';

export interface TerminalView {
  term: Terminal;
  search: SearchAddon;
  /** Fits the terminal to its container now. */
  fit(): void;
  dispose(): void;
}

/** Opens a link from the terminal in a new tab, cut off from this page; only http(s). */
export function openLink(uri: string): void {
  try {
    const url = new URL(uri);
    if (url.protocol === 'http:' || url.protocol === 'https:') window.open(url.href, '_blank', 'noopener,noreferrer');
  } catch {
    // Not a URL: nothing to open.
  }
}

export function createTerminal(container: HTMLElement, wanted: Renderer): TerminalView {
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  const term = new Terminal({
    allowProposedApi: true,
    scrollback: 10_000,
    disableStdin: true,
    cursorBlink: false,
    fontFamily: 'ui-monospace, "SFMono-Regular", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: window.matchMedia('(max-width: 700px)').matches ? 13 : 14,
    macOptionIsMeta: true,
    theme: dark.matches ? DARK : LIGHT,
    linkHandler: { activate: (_event, uri) => openLink(uri), allowNonHttpProtocols: false },
  });
  const fitAddon = new FitAddon();
  const search = new SearchAddon();
  term.loadAddon(fitAddon);
  term.loadAddon(search);
  term.loadAddon(new WebLinksAddon((_event, uri) => openLink(uri)));
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = '11';
  term.open(container);

  container.dataset['renderer'] = 'dom';
  if (wanted === 'webgl') {
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => {
        webgl.dispose();
        container.dataset['renderer'] = 'dom';
      });
      term.loadAddon(webgl);
      container.dataset['renderer'] = 'webgl';
    } catch {
      // No WebGL here: the DOM renderer stays.
    }
  }

  // Refit on any size change of the container (window, banners, the key bar), once per frame.
  let frame = 0;
  const fit = () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      if (container.clientWidth > 0 && container.clientHeight > 0) fitAddon.fit();
    });
  };
  const observer = new ResizeObserver(fit);
  observer.observe(container);
  window.addEventListener('resize', fit);
  const onScheme = () => {
    term.options.theme = dark.matches ? DARK : LIGHT;
  };
  dark.addEventListener('change', onScheme);
  // Metrics change once the web font (if any) arrives.
  void document.fonts?.ready.then(fit);

  return {
    term,
    search,
    fit: () => fitAddon.fit(),
    dispose() {
      cancelAnimationFrame(frame);
      observer.disconnect();
      window.removeEventListener('resize', fit);
      dark.removeEventListener('change', onScheme);
      term.dispose();
    },
  };
}

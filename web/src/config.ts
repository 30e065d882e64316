// The runtime configuration the server writes into the page's chatcode-config meta tag.

export interface Config {
  environment: 'development' | 'production';
  providers: { github: boolean; digitalocean: boolean };
}

/** Reads the meta tag; anything missing or unparsable (the bare placeholder) reads as production, no providers. */
export function readConfig(): Config {
  let value: { environment?: unknown; providers?: { github?: unknown; digitalocean?: unknown } } = {};
  try {
    value = JSON.parse(document.querySelector<HTMLMetaElement>('meta[name="chatcode-config"]')?.content ?? '') ?? {};
  } catch {
    // Not served by the app: the defaults below.
  }
  return {
    environment: value.environment === 'development' ? 'development' : 'production',
    providers: { github: value.providers?.github === true, digitalocean: value.providers?.digitalocean === true },
  };
}

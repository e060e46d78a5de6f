export function ensureWebBuild(opts?: { force?: boolean; quiet?: boolean }): Promise<{ built: boolean; dir: string }>;

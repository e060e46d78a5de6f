// oidc-provider ships no types; test/helpers/oidc-provider.ts types the surface it uses.
declare module 'oidc-provider';

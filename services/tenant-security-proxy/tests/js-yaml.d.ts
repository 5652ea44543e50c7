// The part of js-yaml the deployment test uses (no @types package is installed).
declare module 'js-yaml' {
  export function loadAll(text: string): unknown[];
  export function load(text: string): unknown;
}

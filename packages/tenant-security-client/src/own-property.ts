/**
 * Field names and document ids are caller data: any string, "__proto__" included. Plain assignment of such a key
 * would set the object's prototype instead of adding a field, so dynamic keys are always defined as own properties.
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  // "__proto__" is the only key whose assignment does not create an own data property on a plain object.
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

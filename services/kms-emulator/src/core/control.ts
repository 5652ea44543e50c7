/**
 * One definition per control method: its validator and its implementation. The in-process API and
 * `POST /__emulator/<method>` both go through it, so the two can never drift apart.
 */
import type { ControlMethod } from './server.js';
import type { Validator } from './validate.js';

export interface ControlDefinition<I, O> {
  input: Validator<I>;
  run(input: I): O;
}

export function defineControl<I, O>(input: Validator<I>, run: (input: I) => O): ControlDefinition<I, O> {
  return { input, run };
}

export type ControlApi<T extends Record<string, ControlDefinition<any, any>>> = {
  [K in keyof T]: T[K] extends ControlDefinition<infer I, infer O> ? (input: I) => O : never;
};

export function bindControl<T extends Record<string, ControlDefinition<any, any>>>(
  definitions: T,
): { api: ControlApi<T>; methods: Record<string, ControlMethod> } {
  const api = {} as Record<string, (input: unknown) => unknown>;
  const methods: Record<string, ControlMethod> = {};
  for (const [name, definition] of Object.entries(definitions)) {
    const call = (input: unknown) => definition.run(definition.input(input, ''));
    api[name] = call;
    methods[name] = call;
  }
  return { api: api as ControlApi<T>, methods };
}

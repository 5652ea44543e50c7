import type { ReactNode } from 'react';

export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="mx-auto flex min-h-screen max-w-md flex-col justify-center px-4 py-12">
      <p className="mb-2 text-sm font-semibold uppercase tracking-wider text-indigo-700">OpenCMK</p>
      <h1 className="mb-6 text-2xl font-semibold tracking-tight">{title}</h1>
      <div className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200">{children}</div>
    </main>
  );
}

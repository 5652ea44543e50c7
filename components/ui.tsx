import type { ComponentProps, ReactNode } from 'react';

// Presentational building blocks without hooks or server imports: usable from server components and islands.

const buttonKinds = {
  primary: 'bg-indigo-600 text-white hover:bg-indigo-500 disabled:bg-indigo-300',
  secondary: 'bg-white text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50',
  danger: 'bg-white text-red-700 ring-1 ring-red-300 hover:bg-red-50',
} as const;

export function Button({ kind = 'primary', className = '', ...props }: ComponentProps<'button'> & { kind?: keyof typeof buttonKinds }) {
  return (
    <button
      className={`inline-flex items-center justify-center rounded-md px-3 py-1.5 text-sm font-medium shadow-sm disabled:cursor-not-allowed ${buttonKinds[kind]} ${className}`}
      {...props}
    />
  );
}

export function Card({ title, children, actions }: { title?: ReactNode; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="rounded-lg bg-white p-5 shadow-sm ring-1 ring-slate-200">
      {(title || actions) && (
        <div className="mb-4 flex items-center justify-between gap-4">
          {title && <h2 className="text-base font-semibold">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function PageTitle({ children, subtitle }: { children: ReactNode; subtitle?: ReactNode }) {
  return (
    <div className="mb-6">
      <h1 className="text-2xl font-semibold tracking-tight">{children}</h1>
      {subtitle && <p className="mt-1 text-sm text-slate-600">{subtitle}</p>}
    </div>
  );
}

const badgeColors: Record<string, string> = {
  invited: 'bg-amber-50 text-amber-800 ring-amber-200',
  revoked: 'bg-slate-100 text-slate-700 ring-slate-300',
  active: 'bg-emerald-50 text-emerald-800 ring-emerald-200',
  archived: 'bg-slate-100 text-slate-500 ring-slate-200',
  vendor: 'bg-indigo-50 text-indigo-800 ring-indigo-200',
  tenant: 'bg-sky-50 text-sky-800 ring-sky-200',
};

export function Badge({ children, tone }: { children: ReactNode; tone: string }) {
  return (
    <span className={`inline-flex rounded-full px-2 py-0.5 text-xs font-medium ring-1 ${badgeColors[tone] ?? badgeColors.revoked}`}>
      {children}
    </span>
  );
}

export function Notice({ tone, children }: { tone: 'ok' | 'error' | 'warn'; children: ReactNode }) {
  const colors = {
    ok: 'bg-emerald-50 text-emerald-900 ring-emerald-200',
    error: 'bg-red-50 text-red-900 ring-red-200',
    warn: 'bg-amber-50 text-amber-900 ring-amber-200',
  }[tone];
  return (
    <p role={tone === 'error' ? 'alert' : 'status'} className={`rounded-md px-3 py-2 text-sm ring-1 ${colors}`}>
      {children}
    </p>
  );
}

export function TextField({
  label,
  name,
  errors,
  hint,
  ...input
}: ComponentProps<'input'> & { label: string; name: string; errors?: string[]; hint?: string }) {
  const id = `field-${name}`;
  const describedBy = errors?.length ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">
        {label}
      </label>
      <input
        id={id}
        name={name}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={describedBy}
        className={`block w-full rounded-md border px-3 py-1.5 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-indigo-500 ${
          errors?.length ? 'border-red-400' : 'border-slate-300'
        }`}
        {...input}
      />
      {errors?.length ? (
        <p id={`${id}-error`} className="text-sm text-red-700" data-field-error={name}>
          {errors.join(' ')}
        </p>
      ) : hint ? (
        <p id={`${id}-hint`} className="text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function formatTime(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

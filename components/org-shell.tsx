import Link from 'next/link';
import type { ReactNode } from 'react';
import { signOutAction } from '@/app/sign-in/actions';
import { Badge, Button } from '@/components/ui';
import type { OrgSummary } from '@/lib/server/org-scope';
import type { OrgScope } from '@/lib/server/context';

/** Header with the organization switcher (plain <details>, no client JS), navigation and sign-out. */
export function OrgShell({ scope, orgs, children }: { scope: OrgScope; orgs: OrgSummary[]; children: ReactNode }) {
  const base = `/orgs/${scope.orgId}`;
  const nav =
    scope.orgKind === 'vendor'
      ? [
          { href: `${base}/tenants`, label: 'Tenants' },
          { href: `${base}/proxy-configs`, label: 'Proxy configurations' },
          { href: `${base}/keys`, label: 'Keys' },
          { href: `${base}/cloud-identities`, label: 'Cloud identities' },
          { href: `${base}/settings`, label: 'Settings' },
          { href: `${base}/admins`, label: 'Admins' },
          { href: `${base}/audit`, label: 'Audit log' },
        ]
      : [
          { href: `${base}/kms-configs`, label: 'KMS configs' },
          { href: `${base}/logging-configs`, label: 'Logging configs' },
          { href: `${base}/cloud-identities`, label: 'Cloud identities' },
          { href: `${base}/audit`, label: 'Audit log' },
          { href: `${base}/admins`, label: 'Admins' },
        ];
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl items-center gap-6 px-4 py-3">
          <Link href="/" className="text-sm font-semibold uppercase tracking-wider text-indigo-700 hover:no-underline">
            OpenCMK
          </Link>
          <details className="relative" data-org-switcher>
            <summary className="flex cursor-pointer list-none items-center gap-2 rounded-md px-2 py-1 text-sm font-medium ring-1 ring-slate-200 hover:bg-slate-50">
              <span data-current-org>{scope.orgName}</span>
              <Badge tone={scope.orgKind}>{scope.orgKind}</Badge>
              <span aria-hidden>▾</span>
            </summary>
            <ul className="absolute z-10 mt-1 w-72 rounded-md bg-white py-1 shadow-lg ring-1 ring-slate-200">
              {orgs.map((org) => (
                <li key={org.id}>
                  <Link
                    href={`/orgs/${org.id}`}
                    aria-current={org.id === scope.orgId ? 'page' : undefined}
                    className="flex items-center justify-between px-3 py-2 text-sm text-slate-800 hover:bg-slate-50 hover:no-underline"
                  >
                    {org.name} <Badge tone={org.kind}>{org.kind}</Badge>
                  </Link>
                </li>
              ))}
            </ul>
          </details>
          <nav className="flex gap-4 text-sm">
            {nav.map((item) => (
              <Link key={item.href} href={item.href} className="text-slate-700">
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="ml-auto flex items-center gap-3 text-sm text-slate-600">
            <span data-signed-in-as>{scope.user.email}</span>
            <form action={signOutAction}>
              <Button kind="secondary" type="submit">
                Sign out
              </Button>
            </form>
          </div>
        </div>
      </header>
      <main className="mx-auto max-w-6xl px-4 py-8">{children}</main>
    </div>
  );
}

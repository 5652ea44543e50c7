import { notFound } from 'next/navigation';
import { PageTitle, formatTime } from '@/components/ui';
import { getEnv } from '@/lib/env';
import { listOutbox } from '@/lib/server/mail';
import { pageSession } from '@/lib/server/page-context';

/** Development/demo only: the e-mails that would have been sent. With SMTP configured this page does not exist. */
export default async function OutboxPage() {
  if (getEnv().mailMode !== 'outbox') notFound();
  const { db } = await pageSession();
  const messages = await listOutbox(db);
  return (
    <main className="mx-auto max-w-3xl px-4 py-10">
      <PageTitle subtitle="Development and demo mode: these e-mails were not sent (no SMTP_URL). Newest first.">
        Outbox
      </PageTitle>
      {messages.length === 0 && <p className="text-sm text-slate-600">No e-mails yet.</p>}
      <ul className="space-y-4">
        {messages.map((message) => (
          <li key={message.id} className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200" data-outbox-to={message.to}>
            <p className="text-xs text-slate-500">
              {formatTime(message.createdAt)} · to <span className="font-medium text-slate-800">{message.to}</span>
            </p>
            <p className="mt-1 font-medium">{message.subject}</p>
            <pre className="mt-2 whitespace-pre-wrap text-sm text-slate-700">{message.text}</pre>
            {message.link && (
              <a href={message.link} className="mt-3 inline-block rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:no-underline" data-outbox-link>
                Open link
              </a>
            )}
          </li>
        ))}
      </ul>
    </main>
  );
}

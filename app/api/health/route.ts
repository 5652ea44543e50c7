import { NextResponse } from 'next/server';
import { getDb, pingDb } from '@/db/client';

/** Liveness and readiness in one: the database answers (migrations are applied when it first opens). */
export async function GET() {
  try {
    await pingDb(await getDb());
    return NextResponse.json({ status: 'ok' });
  } catch {
    return NextResponse.json({ status: 'unavailable' }, { status: 503 });
  }
}

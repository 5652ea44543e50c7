CREATE TABLE "tenant_snapshot_revs" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"rev" bigint DEFAULT 1 NOT NULL
);

ALTER TABLE "proxy_configs" ADD COLUMN "copies_rev" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "snapshot_sections" ADD COLUMN "copies_rev" integer DEFAULT 0 NOT NULL;
CREATE TABLE "snapshot_sections" (
	"proxy_config_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"rev" bigint NOT NULL,
	"section" text,
	CONSTRAINT "snapshot_sections_proxy_config_id_tenant_id_pk" PRIMARY KEY("proxy_config_id","tenant_id")
);
--> statement-breakpoint
ALTER TABLE "snapshot_sections" ADD CONSTRAINT "snapshot_sections_proxy_config_id_proxy_configs_id_fk" FOREIGN KEY ("proxy_config_id") REFERENCES "public"."proxy_configs"("id") ON DELETE cascade ON UPDATE no action;
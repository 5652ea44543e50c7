CREATE TABLE "admin_keys" (
	"org_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"public_key" text NOT NULL,
	"key_id" text NOT NULL,
	"protected_private_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "admin_keys_org_id_user_id_pk" PRIMARY KEY("org_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "vendor_key_grants" (
	"org_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"sealed_private_key" text NOT NULL,
	"granted_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vendor_key_grants_org_id_user_id_pk" PRIMARY KEY("org_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "vendor_keys" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"key_id" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vendor_keys_key_id_unique" UNIQUE("key_id")
);
--> statement-breakpoint
CREATE TABLE "cloud_identities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"identity" text NOT NULL,
	"label" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "proxy_configs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"public_key" text NOT NULL,
	"key_id" text NOT NULL,
	"token_hash" text,
	"status" text DEFAULT 'provisioning' NOT NULL,
	"sealed_env" text,
	"env_version" integer DEFAULT 1 NOT NULL,
	"snapshot_version" bigint DEFAULT 1 NOT NULL,
	"last_contact_at" timestamp with time zone,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "proxy_configs_key_id_unique" UNIQUE("key_id")
);
--> statement-breakpoint
CREATE TABLE "proxy_instances" (
	"proxy_config_id" uuid NOT NULL,
	"instance_id" text NOT NULL,
	"snapshot_version" bigint NOT NULL,
	"uptime_seconds" integer NOT NULL,
	"counters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"reported_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "proxy_instances_proxy_config_id_instance_id_pk" PRIMARY KEY("proxy_config_id","instance_id")
);
--> statement-breakpoint
CREATE TABLE "snapshot_fetch_records" (
	"proxy_config_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"digest" text NOT NULL,
	"snapshot_version" bigint NOT NULL,
	CONSTRAINT "snapshot_fetch_records_proxy_config_id_tenant_id_pk" PRIMARY KEY("proxy_config_id","tenant_id")
);
--> statement-breakpoint
CREATE TABLE "vendor_settings" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"require_leasing" boolean DEFAULT false NOT NULL,
	"require_logging" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "config_id_reservations" (
	"kind" text NOT NULL,
	"id" integer NOT NULL,
	"org_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "config_id_reservations_kind_id_pk" PRIMARY KEY("kind","id")
);
--> statement-breakpoint
CREATE TABLE "kms_configs" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"vendor_org_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"label" text NOT NULL,
	"status" text NOT NULL,
	"leasing_allowed" boolean DEFAULT true NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"fingerprint" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "logging_configs" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"vendor_org_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"label" text NOT NULL,
	"status" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"fingerprint" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sealed_config_copies" (
	"kind" text NOT NULL,
	"config_id" integer NOT NULL,
	"recipient_key_id" text NOT NULL,
	"config_version" integer NOT NULL,
	"vendor_org_id" uuid NOT NULL,
	"blob" text NOT NULL,
	CONSTRAINT "sealed_config_copies_kind_config_id_recipient_key_id_pk" PRIMARY KEY("kind","config_id","recipient_key_id")
);
--> statement-breakpoint
CREATE TABLE "config_checks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"vendor_org_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"config_id" integer NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"requested_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"ok" boolean,
	"latency_ms" integer,
	"error_code" integer,
	"error_message" text,
	"answered_by" uuid
);
--> statement-breakpoint
ALTER TABLE "admin_keys" ADD CONSTRAINT "admin_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "admin_keys" ADD CONSTRAINT "admin_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vendor_key_grants" ADD CONSTRAINT "vendor_key_grants_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vendor_key_grants" ADD CONSTRAINT "vendor_key_grants_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vendor_key_grants" ADD CONSTRAINT "vendor_key_grants_granted_by_users_id_fk" FOREIGN KEY ("granted_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vendor_keys" ADD CONSTRAINT "vendor_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vendor_keys" ADD CONSTRAINT "vendor_keys_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cloud_identities" ADD CONSTRAINT "cloud_identities_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "proxy_configs" ADD CONSTRAINT "proxy_configs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "proxy_configs" ADD CONSTRAINT "proxy_configs_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "proxy_instances" ADD CONSTRAINT "proxy_instances_proxy_config_id_proxy_configs_id_fk" FOREIGN KEY ("proxy_config_id") REFERENCES "public"."proxy_configs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshot_fetch_records" ADD CONSTRAINT "snapshot_fetch_records_proxy_config_id_proxy_configs_id_fk" FOREIGN KEY ("proxy_config_id") REFERENCES "public"."proxy_configs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vendor_settings" ADD CONSTRAINT "vendor_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_id_reservations" ADD CONSTRAINT "config_id_reservations_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kms_configs" ADD CONSTRAINT "kms_configs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kms_configs" ADD CONSTRAINT "kms_configs_vendor_org_id_organizations_id_fk" FOREIGN KEY ("vendor_org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kms_configs" ADD CONSTRAINT "kms_configs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kms_configs" ADD CONSTRAINT "kms_configs_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "logging_configs" ADD CONSTRAINT "logging_configs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "logging_configs" ADD CONSTRAINT "logging_configs_vendor_org_id_organizations_id_fk" FOREIGN KEY ("vendor_org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "logging_configs" ADD CONSTRAINT "logging_configs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "logging_configs" ADD CONSTRAINT "logging_configs_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sealed_config_copies" ADD CONSTRAINT "sealed_config_copies_vendor_org_id_organizations_id_fk" FOREIGN KEY ("vendor_org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_checks" ADD CONSTRAINT "config_checks_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_checks" ADD CONSTRAINT "config_checks_vendor_org_id_organizations_id_fk" FOREIGN KEY ("vendor_org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_checks" ADD CONSTRAINT "config_checks_requested_by_users_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_checks" ADD CONSTRAINT "config_checks_answered_by_proxy_configs_id_fk" FOREIGN KEY ("answered_by") REFERENCES "public"."proxy_configs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "vendor_key_grants_user_idx" ON "vendor_key_grants" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "cloud_identities_org_identity_idx" ON "cloud_identities" USING btree ("org_id","provider","identity");--> statement-breakpoint
CREATE INDEX "proxy_configs_org_idx" ON "proxy_configs" USING btree ("org_id");--> statement-breakpoint
CREATE UNIQUE INDEX "proxy_configs_token_hash_idx" ON "proxy_configs" USING btree ("token_hash") WHERE "proxy_configs"."token_hash" is not null;--> statement-breakpoint
CREATE INDEX "kms_configs_org_idx" ON "kms_configs" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "kms_configs_vendor_idx" ON "kms_configs" USING btree ("vendor_org_id");--> statement-breakpoint
CREATE UNIQUE INDEX "kms_configs_one_primary_idx" ON "kms_configs" USING btree ("org_id") WHERE "kms_configs"."status" = 'primary';--> statement-breakpoint
CREATE INDEX "logging_configs_org_idx" ON "logging_configs" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "logging_configs_vendor_idx" ON "logging_configs" USING btree ("vendor_org_id");--> statement-breakpoint
CREATE UNIQUE INDEX "logging_configs_one_active_idx" ON "logging_configs" USING btree ("org_id") WHERE "logging_configs"."status" = 'active';--> statement-breakpoint
CREATE INDEX "sealed_config_copies_recipient_idx" ON "sealed_config_copies" USING btree ("recipient_key_id");--> statement-breakpoint
CREATE INDEX "config_checks_vendor_status_idx" ON "config_checks" USING btree ("vendor_org_id","status");--> statement-breakpoint
CREATE INDEX "config_checks_config_idx" ON "config_checks" USING btree ("kind","config_id");
using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <inheritdoc />
    internal partial class DeliveryProviders : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<decimal>(
                name: "cost",
                schema: "delivery",
                table: "deliveries",
                type: "numeric(12,6)",
                precision: 12,
                scale: 6,
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "provider_id",
                schema: "delivery",
                table: "deliveries",
                type: "uuid",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "data_protection_keys",
                schema: "delivery",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    friendly_name = table.Column<string>(type: "text", nullable: true),
                    xml = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_data_protection_keys", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "providers",
                schema: "delivery",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    tenant_id = table.Column<Guid>(type: "uuid", nullable: false),
                    channel = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    kind = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    rate_per_second = table.Column<int>(type: "integer", nullable: true),
                    rate_per_minute = table.Column<int>(type: "integer", nullable: true),
                    timeout_ms = table.Column<int>(type: "integer", nullable: false),
                    cost_per_message = table.Column<decimal>(type: "numeric(12,6)", precision: 12, scale: 6, nullable: true),
                    breaker_failures = table.Column<int>(type: "integer", nullable: false),
                    break_seconds = table.Column<int>(type: "integer", nullable: false),
                    settings = table.Column<string>(type: "jsonb", nullable: false),
                    protected_credentials = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_providers", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "sink_messages",
                schema: "delivery",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    tenant_id = table.Column<Guid>(type: "uuid", nullable: false),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: false),
                    delivery_id = table.Column<Guid>(type: "uuid", nullable: false),
                    channel = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    address = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    content = table.Column<string>(type: "jsonb", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_sink_messages", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_deliveries_provider_message_id",
                schema: "delivery",
                table: "deliveries",
                column: "provider_message_id",
                filter: "provider_message_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_providers_tenant_id_channel_priority",
                schema: "delivery",
                table: "providers",
                columns: new[] { "tenant_id", "channel", "priority" });

            migrationBuilder.CreateIndex(
                name: "ix_sink_messages_tenant_id_provider_id_id",
                schema: "delivery",
                table: "sink_messages",
                columns: new[] { "tenant_id", "provider_id", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "data_protection_keys",
                schema: "delivery");

            migrationBuilder.DropTable(
                name: "providers",
                schema: "delivery");

            migrationBuilder.DropTable(
                name: "sink_messages",
                schema: "delivery");

            migrationBuilder.DropIndex(
                name: "ix_deliveries_provider_message_id",
                schema: "delivery",
                table: "deliveries");

            migrationBuilder.DropColumn(
                name: "cost",
                schema: "delivery",
                table: "deliveries");

            migrationBuilder.DropColumn(
                name: "provider_id",
                schema: "delivery",
                table: "deliveries");
        }
    }
}

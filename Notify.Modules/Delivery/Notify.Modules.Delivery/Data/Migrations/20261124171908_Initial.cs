using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <inheritdoc />
    internal partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "delivery");

            migrationBuilder.CreateTable(
                name: "idempotency_keys",
                schema: "delivery",
                columns: table => new
                {
                    tenant_id = table.Column<Guid>(type: "uuid", nullable: false),
                    key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    request_hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    status_code = table.Column<int>(type: "integer", nullable: false),
                    response = table.Column<string>(type: "jsonb", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_idempotency_keys", x => new { x.tenant_id, x.key });
                });

            migrationBuilder.CreateTable(
                name: "inbox_messages",
                schema: "delivery",
                columns: table => new
                {
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    consumer = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    processed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_inbox_messages", x => new { x.message_id, x.consumer });
                });

            // Partitioned by month: written by hand, EF cannot express it (see Partitions).
            migrationBuilder.Sql(Partitions.CreateTablesSql);
            migrationBuilder.Sql(Partitions.CreateFunctionSql);
            migrationBuilder.Sql(Partitions.CreateAheadSql(Partitions.MonthsAhead));

            migrationBuilder.CreateTable(
                name: "outbox_messages",
                schema: "delivery",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    type = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    tenant_id = table.Column<Guid>(type: "uuid", nullable: true),
                    occurred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    payload = table.Column<string>(type: "jsonb", nullable: false),
                    trace_parent = table.Column<string>(type: "text", nullable: true),
                    trace_state = table.Column<string>(type: "text", nullable: true),
                    sent_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_outbox_messages", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_deliveries_notification_id",
                schema: "delivery",
                table: "deliveries",
                column: "notification_id");

            migrationBuilder.CreateIndex(
                name: "ix_notification_events_notification_id",
                schema: "delivery",
                table: "notification_events",
                column: "notification_id");

            migrationBuilder.CreateIndex(
                name: "ix_notifications_tenant_id_user_id_created_at",
                schema: "delivery",
                table: "notifications",
                columns: new[] { "tenant_id", "user_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_unsent",
                schema: "delivery",
                table: "outbox_messages",
                column: "id",
                filter: "sent_at IS NULL");

            migrationBuilder.Sql(Notify.Modules.Abstractions.Messaging.OutboxExtensions.NotifyTriggerSql("delivery"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "deliveries",
                schema: "delivery");

            migrationBuilder.DropTable(
                name: "idempotency_keys",
                schema: "delivery");

            migrationBuilder.DropTable(
                name: "inbox_messages",
                schema: "delivery");

            migrationBuilder.DropTable(
                name: "notification_events",
                schema: "delivery");

            migrationBuilder.DropTable(
                name: "notifications",
                schema: "delivery");

            migrationBuilder.DropTable(
                name: "outbox_messages",
                schema: "delivery");

            migrationBuilder.Sql("DROP FUNCTION IF EXISTS delivery.create_monthly_partitions(date, integer);");
        }
    }
}

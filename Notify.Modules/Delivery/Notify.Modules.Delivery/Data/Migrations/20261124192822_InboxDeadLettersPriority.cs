using System;
using System.Text.Json;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <inheritdoc />
    internal partial class InboxDeadLettersPriority : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<short>(
                name: "priority",
                schema: "delivery",
                table: "deliveries",
                type: "smallint",
                nullable: false,
                defaultValue: (short)2); // normal, for rows from before priorities

            migrationBuilder.CreateTable(
                name: "dead_letters",
                schema: "delivery",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    tenant_id = table.Column<Guid>(type: "uuid", nullable: false),
                    notification_id = table.Column<Guid>(type: "uuid", nullable: false),
                    delivery_id = table.Column<Guid>(type: "uuid", nullable: false),
                    delivery_created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    channel = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    address = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    history = table.Column<string>(type: "jsonb", nullable: false),
                    status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    resolution = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_dead_letters", x => x.id);
                });

            // Partitioned by month like the other high-volume tables: written by hand (see Partitions).
            migrationBuilder.Sql(Partitions.CreateInboxTableSql);
            migrationBuilder.Sql(Partitions.CreateFunctionSql);
            migrationBuilder.Sql(Partitions.CreateAheadSql(Partitions.MonthsAhead));

            // Senders claim queued deliveries of a channel, most urgent first, then by due time.
            migrationBuilder.Sql("DROP INDEX delivery.ix_deliveries_due;");
            migrationBuilder.Sql("CREATE INDEX ix_deliveries_due ON delivery.deliveries (channel, priority, deliver_at) WHERE status = 'queued';");

            // The unread count and "mark all read" touch only unread, unarchived items.
            migrationBuilder.Sql("CREATE INDEX ix_inbox_items_unread ON delivery.inbox_items (tenant_id, user_id) WHERE read_at IS NULL AND archived_at IS NULL;");

            migrationBuilder.CreateIndex(
                name: "ix_dead_letters_delivery_id",
                schema: "delivery",
                table: "dead_letters",
                column: "delivery_id",
                unique: true,
                filter: "status = 'open'");

            migrationBuilder.CreateIndex(
                name: "ix_dead_letters_tenant_id_status_created_at",
                schema: "delivery",
                table: "dead_letters",
                columns: new[] { "tenant_id", "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_inbox_items_tenant_id_user_id_created_at_id",
                schema: "delivery",
                table: "inbox_items",
                columns: new[] { "tenant_id", "user_id", "created_at", "id" },
                descending: new[] { false, false, true, true });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX delivery.ix_deliveries_due;");
            migrationBuilder.Sql("CREATE INDEX ix_deliveries_due ON delivery.deliveries (channel, deliver_at) WHERE status = 'queued';");

            migrationBuilder.DropTable(
                name: "dead_letters",
                schema: "delivery");

            migrationBuilder.DropTable(
                name: "inbox_items",
                schema: "delivery");

            migrationBuilder.DropColumn(
                name: "priority",
                schema: "delivery",
                table: "deliveries");
        }
    }
}

using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <inheritdoc />
    internal partial class OutboxDeletesPublishedRows : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The relay now deletes what it published; rows it had marked sent would otherwise go out again.
            migrationBuilder.Sql("DELETE FROM \"delivery\".outbox_messages WHERE sent_at IS NOT NULL;");

            migrationBuilder.DropIndex(
                name: "ix_outbox_messages_unsent",
                schema: "delivery",
                table: "outbox_messages");

            migrationBuilder.DropColumn(
                name: "sent_at",
                schema: "delivery",
                table: "outbox_messages");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "sent_at",
                schema: "delivery",
                table: "outbox_messages",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_unsent",
                schema: "delivery",
                table: "outbox_messages",
                column: "id",
                filter: "sent_at IS NULL");
        }
    }
}

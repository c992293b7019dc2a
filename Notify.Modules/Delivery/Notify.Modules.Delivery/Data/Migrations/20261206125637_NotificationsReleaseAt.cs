using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <summary>
    /// The scheduled-release job's due index moves from <c>scheduled_for WHERE status = 'scheduled'</c> to its own column,
    /// <c>release_at</c>, set only while a send is scheduled: with the status in no index, and room left on the pages
    /// (<see cref="Partitions.NotificationsFillFactor"/>), the two status changes of every notification (planned, sent)
    /// are HOT updates, which add no index entries.
    /// </summary>
    internal partial class NotificationsReleaseAt : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_notifications_scheduled_due",
                schema: "delivery",
                table: "notifications");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "release_at",
                schema: "delivery",
                table: "notifications",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.Sql("UPDATE delivery.notifications SET release_at = scheduled_for WHERE status = 'scheduled';");

            migrationBuilder.CreateIndex(
                name: "ix_notifications_release_due",
                schema: "delivery",
                table: "notifications",
                column: "release_at",
                filter: "release_at IS NOT NULL");

            migrationBuilder.Sql(Partitions.CreateFunctionSql);
            migrationBuilder.Sql(Partitions.SetFillFactorSql("notifications", Partitions.NotificationsFillFactor));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(Partitions.CreateFunction(Partitions.DeliveriesFillFactor, 100));
            migrationBuilder.Sql(Partitions.SetFillFactorSql("notifications", 100));

            migrationBuilder.DropIndex(
                name: "ix_notifications_release_due",
                schema: "delivery",
                table: "notifications");

            migrationBuilder.DropColumn(
                name: "release_at",
                schema: "delivery",
                table: "notifications");

            migrationBuilder.CreateIndex(
                name: "ix_notifications_scheduled_due",
                schema: "delivery",
                table: "notifications",
                column: "scheduled_for",
                filter: "status = 'scheduled'");
        }
    }
}

using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <inheritdoc />
    internal partial class DeliverySending : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "last_error",
                schema: "delivery",
                table: "deliveries",
                type: "character varying(2000)",
                maxLength: 2000,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "leased_until",
                schema: "delivery",
                table: "deliveries",
                type: "timestamp with time zone",
                nullable: true);

            // What the email sender's claim scans: queued deliveries of a channel by due time (on every monthly partition).
            migrationBuilder.Sql("CREATE INDEX ix_deliveries_due ON delivery.deliveries (channel, deliver_at) WHERE status = 'queued';");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX delivery.ix_deliveries_due;");

            migrationBuilder.DropColumn(
                name: "last_error",
                schema: "delivery",
                table: "deliveries");

            migrationBuilder.DropColumn(
                name: "leased_until",
                schema: "delivery",
                table: "deliveries");
        }
    }
}

using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <inheritdoc />
    internal partial class DeliveryPushDevice : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "device",
                schema: "delivery",
                table: "deliveries",
                type: "jsonb",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "device",
                schema: "delivery",
                table: "deliveries");
        }
    }
}

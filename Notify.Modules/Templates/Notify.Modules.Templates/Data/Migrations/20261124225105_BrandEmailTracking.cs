using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Templates.Data.Migrations
{
    /// <inheritdoc />
    internal partial class BrandEmailTracking : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "email_tracking",
                schema: "templates",
                table: "brands",
                type: "boolean",
                nullable: false,
                // Existing brands keep tracking on, as a new brand has it (the model sets true on every insert).
                defaultValue: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "email_tracking",
                schema: "templates",
                table: "brands");
        }
    }
}

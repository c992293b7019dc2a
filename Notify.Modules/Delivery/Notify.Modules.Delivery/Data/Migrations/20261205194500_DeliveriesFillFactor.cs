using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <summary>
    /// Deliveries partitions leave half of each page free (<see cref="Partitions.DeliveriesFillFactor"/>), so that the
    /// updates a delivery gets while it is sent stay on its page (HOT) instead of adding index entries: the partitions
    /// created from now on by the partition function, and the existing ones for the pages they fill from now on.
    /// </summary>
    internal partial class DeliveriesFillFactor : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(Partitions.CreateFunctionSql);
            migrationBuilder.Sql(Partitions.SetFillFactorSql("deliveries", Partitions.DeliveriesFillFactor));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(Partitions.CreateFunction(100, 100));
            migrationBuilder.Sql(Partitions.SetFillFactorSql("deliveries", 100));
        }
    }
}

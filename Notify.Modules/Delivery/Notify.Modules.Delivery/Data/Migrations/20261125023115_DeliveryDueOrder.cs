using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <summary>
    /// The senders claim due deliveries ordered by priority and then by when they became due (coalesce(deliver_at,
    /// created_at)). With that expression in the index, a claim reads the first rows in order and stops, instead of
    /// sorting every queued delivery of the channel on every claim.
    /// </summary>
    internal partial class DeliveryDueOrder : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX delivery.ix_deliveries_due;");
            migrationBuilder.Sql("CREATE INDEX ix_deliveries_due ON delivery.deliveries (channel, priority, (coalesce(deliver_at, created_at))) WHERE status = 'queued';");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX delivery.ix_deliveries_due;");
            migrationBuilder.Sql("CREATE INDEX ix_deliveries_due ON delivery.deliveries (channel, priority, deliver_at) WHERE status = 'queued';");
        }
    }
}

using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notify.Modules.Delivery.Data.Migrations
{
    /// <summary>
    /// A claimed delivery (queued, with a lease) leaves the due index for an index of its own, ordered by when its lease
    /// runs out. Every claim used to read past all the deliveries that other senders had claimed and not yet recorded
    /// (they sit at the front of the due order): a row visit and a lock test each, more than the claim's own work. The
    /// claim now takes unleased due deliveries from the first index and deliveries whose lease ran out from the second.
    /// </summary>
    internal partial class DeliveriesLeasedApart : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX delivery.ix_deliveries_due;");
            migrationBuilder.Sql("""
                CREATE INDEX ix_deliveries_due ON delivery.deliveries (channel, priority, (coalesce(deliver_at, created_at)))
                WHERE status = 'queued' AND leased_until IS NULL;
                """);
            migrationBuilder.Sql("""
                CREATE INDEX ix_deliveries_leased ON delivery.deliveries (channel, leased_until)
                WHERE status = 'queued' AND leased_until IS NOT NULL;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX delivery.ix_deliveries_leased;");
            migrationBuilder.Sql("DROP INDEX delivery.ix_deliveries_due;");
            migrationBuilder.Sql("CREATE INDEX ix_deliveries_due ON delivery.deliveries (channel, priority, (coalesce(deliver_at, created_at))) WHERE status = 'queued';");
        }
    }
}

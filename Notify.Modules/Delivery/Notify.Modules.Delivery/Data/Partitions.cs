namespace Notify.Modules.Delivery.Data;

/// <summary>
/// The high-volume tables, range-partitioned by month on created_at (DESIGN §3). EF cannot express partitioning,
/// so the Initial migration creates them from this DDL; their primary keys include created_at as PostgreSQL requires.
/// </summary>
internal static class Partitions
{
    public static readonly string[] Tables = ["notifications", "deliveries", "notification_events", "inbox_items"];

    /// <summary>Months of partitions the migration creates: the current one and the next two.</summary>
    public const int MonthsAhead = 3;

    public const string CreateTablesSql = """
        CREATE TABLE delivery.notifications (
            id uuid NOT NULL,
            created_at timestamp with time zone NOT NULL,
            tenant_id uuid NOT NULL,
            template_key character varying(100) NOT NULL,
            template_version integer NOT NULL,
            category character varying(100) NOT NULL,
            priority character varying(10) NOT NULL,
            user_id character varying(200),
            inline_recipient jsonb,
            data jsonb,
            metadata jsonb,
            channels text[] NOT NULL,
            status character varying(20) NOT NULL,
            scheduled_for timestamp with time zone,
            idempotency_key character varying(200),
            updated_at timestamp with time zone NOT NULL,
            CONSTRAINT pk_notifications PRIMARY KEY (id, created_at)
        ) PARTITION BY RANGE (created_at);

        CREATE TABLE delivery.deliveries (
            id uuid NOT NULL,
            created_at timestamp with time zone NOT NULL,
            tenant_id uuid NOT NULL,
            notification_id uuid NOT NULL,
            channel character varying(20) NOT NULL,
            status character varying(20) NOT NULL,
            address character varying(2000),
            provider_message_id character varying(500),
            deliver_at timestamp with time zone,
            attempts integer NOT NULL,
            updated_at timestamp with time zone NOT NULL,
            CONSTRAINT pk_deliveries PRIMARY KEY (id, created_at)
        ) PARTITION BY RANGE (created_at);

        CREATE TABLE delivery.notification_events (
            id uuid NOT NULL,
            created_at timestamp with time zone NOT NULL,
            tenant_id uuid NOT NULL,
            notification_id uuid NOT NULL,
            delivery_id uuid,
            channel character varying(20),
            type character varying(40) NOT NULL,
            detail character varying(2000),
            CONSTRAINT pk_notification_events PRIMARY KEY (id, created_at)
        ) PARTITION BY RANGE (created_at);
        """;

    public const string CreateInboxTableSql = """
        CREATE TABLE delivery.inbox_items (
            id uuid NOT NULL,
            created_at timestamp with time zone NOT NULL,
            tenant_id uuid NOT NULL,
            user_id character varying(200) NOT NULL,
            notification_id uuid NOT NULL,
            category character varying(100) NOT NULL,
            title character varying(1000) NOT NULL,
            body text NOT NULL,
            action_url character varying(2000),
            data jsonb,
            seen_at timestamp with time zone,
            read_at timestamp with time zone,
            archived_at timestamp with time zone,
            CONSTRAINT pk_inbox_items PRIMARY KEY (id, created_at)
        ) PARTITION BY RANGE (created_at);
        """;

    /// <summary>
    /// How full a deliveries partition's pages are filled by inserts. A delivery is updated while it waits and is sent
    /// (claimed, handed over), and each update writes a new version of its row, content and all: with room left on the
    /// page the new version stays there (a HOT update), so the indexes get no new entries and the due index the senders
    /// and the planning throttle scan does not fill with dead ones.
    /// </summary>
    public const int DeliveriesFillFactor = 50;

    /// <summary>
    /// The same for notifications partitions: a notification's status changes when it is planned and when it is sent,
    /// and no index holds the status (<see cref="Domain.Notification.ReleaseAt"/>), so with room on the page both updates
    /// are HOT.
    /// </summary>
    public const int NotificationsFillFactor = 70;

    /// <summary>
    /// A function that creates the monthly partitions (UTC months) of every partitioned table of the schema from a
    /// month on. It finds the tables in the catalog, so a later migration's new partitioned table is covered by the
    /// same function; idempotent, so the scheduled job that keeps partitions ahead calls it too. Deliveries partitions get
    /// <see cref="DeliveriesFillFactor"/>, notifications partitions <see cref="NotificationsFillFactor"/>.
    /// </summary>
    public static readonly string CreateFunctionSql = CreateFunction(DeliveriesFillFactor, NotificationsFillFactor);

    /// <summary>
    /// The partition function (<see cref="CreateFunctionSql"/>) with deliveries partitions filled to
    /// <paramref name="deliveriesFillFactor"/> and notifications partitions to <paramref name="notificationsFillFactor"/>.
    /// </summary>
    public static string CreateFunction(int deliveriesFillFactor, int notificationsFillFactor) => $$"""
        CREATE OR REPLACE FUNCTION delivery.create_monthly_partitions(from_month date, months integer) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
          t text;
          month_start timestamp;
        BEGIN
          FOR t IN SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
                   WHERE c.relnamespace = 'delivery'::regnamespace LOOP
            FOR i IN 0 .. months - 1 LOOP
              month_start := date_trunc('month', from_month::timestamp) + make_interval(months => i);
              EXECUTE format('CREATE TABLE IF NOT EXISTS delivery.%I PARTITION OF delivery.%I FOR VALUES FROM (%L) TO (%L)%s',
                t || '_' || to_char(month_start, 'YYYY_MM'), t,
                month_start AT TIME ZONE 'UTC', (month_start + interval '1 month') AT TIME ZONE 'UTC',
                CASE t WHEN 'deliveries' THEN ' WITH (fillfactor = {{deliveriesFillFactor}})'
                       WHEN 'notifications' THEN ' WITH (fillfactor = {{notificationsFillFactor}})' ELSE '' END);
            END LOOP;
          END LOOP;
        END $$;
        """;

    /// <summary>
    /// Sets the fillfactor of every existing partition of <paramref name="table"/>; it applies to the pages they fill from
    /// then on.
    /// </summary>
    public static string SetFillFactorSql(string table, int fillFactor) => $$"""
        DO $$
        DECLARE
          p regclass;
        BEGIN
          FOR p IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'delivery.{{table}}'::regclass LOOP
            EXECUTE format('ALTER TABLE %s SET (fillfactor = {{fillFactor}})', p);
          END LOOP;
        END $$;
        """;

    public static string CreateAheadSql(int months) =>
        $"SELECT delivery.create_monthly_partitions((now() AT TIME ZONE 'UTC')::date, {months});";
}

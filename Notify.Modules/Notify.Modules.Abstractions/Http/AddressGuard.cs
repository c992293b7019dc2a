using System.Net;
using System.Net.Sockets;

namespace Notify.Modules.Abstractions.Http;

/// <summary>
/// SSRF protection: which addresses a webhook may never reach unless the operator allows private
/// addresses — loopback, private, link-local (incl. cloud metadata 169.254.169.254 and fd00:ec2::254),
/// carrier-grade NAT, multicast, reserved, and the same hidden in IPv4-mapped or NAT64 IPv6 addresses.
/// </summary>
public static class AddressGuard
{
    private static readonly (IPAddress Network, int Prefix)[] ForbiddenV4 =
    [
        (IPAddress.Parse("0.0.0.0"), 8),        // "this network"
        (IPAddress.Parse("10.0.0.0"), 8),       // private
        (IPAddress.Parse("100.64.0.0"), 10),    // carrier-grade NAT
        (IPAddress.Parse("127.0.0.0"), 8),      // loopback
        (IPAddress.Parse("169.254.0.0"), 16),   // link-local, cloud metadata
        (IPAddress.Parse("172.16.0.0"), 12),    // private
        (IPAddress.Parse("192.0.0.0"), 24),     // IETF protocol assignments
        (IPAddress.Parse("192.0.2.0"), 24),     // documentation
        (IPAddress.Parse("192.168.0.0"), 16),   // private
        (IPAddress.Parse("198.18.0.0"), 15),    // benchmarking
        (IPAddress.Parse("198.51.100.0"), 24),  // documentation
        (IPAddress.Parse("203.0.113.0"), 24),   // documentation
        (IPAddress.Parse("224.0.0.0"), 4),      // multicast
        (IPAddress.Parse("240.0.0.0"), 4),      // reserved, broadcast
    ];

    private static readonly (IPAddress Network, int Prefix)[] ForbiddenV6 =
    [
        (IPAddress.Parse("::"), 128),           // unspecified
        (IPAddress.Parse("::1"), 128),          // loopback
        (IPAddress.Parse("fc00::"), 7),         // unique local (incl. fd00:ec2::254)
        (IPAddress.Parse("fe80::"), 10),        // link-local
        (IPAddress.Parse("fec0::"), 10),        // site-local (deprecated)
        (IPAddress.Parse("ff00::"), 8),         // multicast
        (IPAddress.Parse("2001:db8::"), 32),    // documentation
    ];

    private static readonly IPAddress Nat64 = IPAddress.Parse("64:ff9b::");

    public static bool IsForbidden(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return IsForbidden(address.MapToIPv4());
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) addresses carry an IPv4 address in their last 4 bytes.
            if (InNetwork(bytes, Nat64.GetAddressBytes(), 96) || (InNetwork(bytes, new byte[16], 96) && !address.Equals(IPAddress.IPv6Loopback) && !address.Equals(IPAddress.IPv6Any)))
            {
                return IsForbidden(new IPAddress(bytes.AsSpan(12, 4)));
            }

            return ForbiddenV6.Any(n => InNetwork(bytes, n.Network.GetAddressBytes(), n.Prefix));
        }

        var v4 = address.GetAddressBytes();
        return ForbiddenV4.Any(n => InNetwork(v4, n.Network.GetAddressBytes(), n.Prefix));
    }

    private static bool InNetwork(byte[] address, byte[] network, int prefix)
    {
        if (address.Length != network.Length)
        {
            return false;
        }

        var whole = prefix / 8;
        if (!address.AsSpan(0, whole).SequenceEqual(network.AsSpan(0, whole)))
        {
            return false;
        }

        var rest = prefix % 8;
        if (rest == 0)
        {
            return true;
        }

        var mask = (byte)(0xFF << (8 - rest));
        return (address[whole] & mask) == (network[whole] & mask);
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that resolves the host, drops the addresses
    /// <see cref="IsForbidden"/> refuses (unless <paramref name="allowPrivate"/>), and connects to the checked addresses
    /// only, never to a name that could resolve differently.
    /// </summary>
    /// <param name="who">What may not reach the address, for the error ("webhooks").</param>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, string who, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = allowPrivate ? addresses : addresses.Where(a => !IsForbidden(a)).ToArray();
        if (allowed.Length == 0)
        {
            throw new AddressRefusedException(
                $"Refused to connect: {host} resolves to {string.Join(", ", addresses.Select(a => a.ToString()))}, which {who} may not reach (SSRF protection).");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A connection refused by SSRF protection at send time.</summary>
public sealed class AddressRefusedException(string message) : IOException(message);

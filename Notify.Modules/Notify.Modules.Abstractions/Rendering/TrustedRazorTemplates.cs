using System.Dynamic;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using RazorLight;

namespace Notify.Modules.Abstractions.Rendering;

/// <summary>
/// Renders Razor templates that ship with the code, embedded in a module's assembly (email layout, recipient
/// pages). Razor is C#, so only trusted templates go through here, never tenant text (DESIGN §6). Each template
/// compiles once per process, keyed by a hash of its content, so a changed template never hits an old entry.
/// </summary>
public sealed class TrustedRazorTemplates
{
    private readonly RazorLightEngine _engine;
    private readonly Dictionary<string, string> _keys = new(StringComparer.Ordinal);
    private readonly Lock _compileGate = new();
    private readonly Dictionary<string, Task> _compiled = new(StringComparer.Ordinal);

    /// <param name="assembly">The assembly holding the templates as embedded resources.</param>
    /// <param name="resources">Template name → manifest resource name.</param>
    public TrustedRazorTemplates(Assembly assembly, IReadOnlyDictionary<string, string> resources)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentNullException.ThrowIfNull(resources);
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, resource) in resources)
        {
            var source = Read(assembly, resource);
            var key = name + "-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source)));
            _keys[name] = key;
            sources[key] = source;
        }

        _engine = new RazorLightEngineBuilder()
            // RazorLight compiles against the references of an "operating assembly", by default the entry assembly,
            // read from its deps.json; that lists them only when the host sets PreserveCompilationContext (test hosts
            // and our apps do not). RazorLight's own assembly has no deps.json, so RazorLight walks its references
            // instead: exactly what a template needs (Razor runtime, Microsoft.CSharp for dynamic), in any host.
            .SetOperatingAssembly(typeof(RazorLightEngine).Assembly)
            .UseNoProject()
            .AddDynamicTemplates(sources)
            .UseMemoryCachingProvider()
            .Build();
    }

    /// <summary>
    /// Compiles every template once per process (concurrent first callers share one compilation; a failed one
    /// is retried by the next caller). Hosts call it at startup, so no request waits a second or two for Roslyn.
    /// </summary>
    public Task WarmUpAsync() => Task.WhenAll(_keys.Keys.Select(CompileAsync));

    /// <summary>
    /// Renders template <paramref name="name"/>. The compiled template lives in an assembly of its own, which
    /// cannot see a module's internal types, so the model is an object of a framework type holding values already
    /// checked: a dictionary where rendering is hot (a dynamic model costs a trip through the DLR per member read), an
    /// <see cref="ExpandoObject"/> elsewhere.
    /// </summary>
    public async Task<string> RenderAsync(string name, object model)
    {
        await CompileAsync(name);
        // Each call gets a fresh page instance from the cached compiled type, so concurrent renders share no state.
        var page = await _engine.CompileTemplateAsync(_keys[name]);
        return await _engine.RenderTemplateAsync(page, model);
    }

    private Task CompileAsync(string name)
    {
        var key = _keys.TryGetValue(name, out var found) ? found : throw new ArgumentException($"No template named '{name}'.", nameof(name));
        lock (_compileGate)
        {
            if (!_compiled.TryGetValue(key, out var task) || task.IsFaulted || task.IsCanceled)
            {
                task = _engine.CompileTemplateAsync(key);
                _compiled[key] = task;
            }

            return task;
        }
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded resource {resource} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

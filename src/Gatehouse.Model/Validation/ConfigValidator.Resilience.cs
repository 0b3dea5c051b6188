using Gatehouse.Model.Config;

namespace Gatehouse.Model.Validation;

/// <summary>Retries, outlier detection, fault injection and drain: the rules across their keys.</summary>
public static partial class ConfigValidator
{
    /// <summary>The retry conditions that are not status codes.</summary>
    public static readonly IReadOnlyList<string> RetryConditions = ["connect-failure", "reset", "timeout"];

    private static void ValidateResilience(GatehouseConfig config, List<ConfigError> errors)
    {
        if (config.Gateway.HealthPath is { } healthPath && !healthPath.StartsWith('/'))
        {
            errors.Add(new ConfigError("gateway.healthPath", $"'{healthPath}' must start with '/', e.g. '/healthz'."));
        }

        foreach (var (name, service) in config.Services)
        {
            var path = $"services.{name}";
            ValidateRetry($"{path}.retry", service.Retry, errors);
            Percent($"{path}.retryBudget.activePercent", service.RetryBudget.ActivePercent, errors);
            Percent($"{path}.retryBudget.ratePercent", service.RetryBudget.RatePercent, errors);
            if (service.OutlierDetection is { } outliers)
            {
                if (service.HealthCheck?.Passive is not null)
                {
                    errors.Add(new ConfigError($"{path}.outlierDetection", "'outlierDetection' replaces 'healthCheck.passive'; remove one of them."));
                }

                if (outliers.MaxEjectionTime < outliers.BaseEjectionTime)
                {
                    errors.Add(new ConfigError($"{path}.outlierDetection.maxEjectionTime", "must not be shorter than 'baseEjectionTime'."));
                }

                Percent($"{path}.outlierDetection.failurePercent", outliers.FailurePercent ?? 0, errors);
                Percent($"{path}.outlierDetection.maxEjectedPercent", outliers.MaxEjectedPercent, errors);
                Percent($"{path}.outlierDetection.panicThresholdPercent", outliers.PanicThresholdPercent, errors);
            }

            if (service.DeadlineHeader is { } header && !IsToken(header))
            {
                errors.Add(new ConfigError($"{path}.deadlineHeader", $"'{header}' is not a valid header name; use letters, digits and '-', e.g. 'Gatehouse-Deadline-Ms'."));
            }
        }

        foreach (var (id, route) in config.Routes)
        {
            ValidateRetry($"routes.{id}.retry", route.Retry, errors);
            if (route.Mirror is { } mirror)
            {
                Percent($"routes.{id}.mirror.percent", mirror.Percent, errors);
                if (!config.Services.TryGetValue(mirror.Service, out var target))
                {
                    errors.Add(new ConfigError($"routes.{id}.mirror.service", $"no service '{mirror.Service}'; copies go to a service of 'services'.{DidYouMean(mirror.Service, config.Services.Keys)}"));
                }
                else if (target.Kind == ServiceKind.Ai)
                {
                    errors.Add(new ConfigError($"routes.{id}.mirror.service", $"'{mirror.Service}' is a model provider service (kind: ai); mirror to an HTTP service."));
                }
                else if (route.Service is { } own && config.Services.TryGetValue(own, out var ownService) && ownService.Kind == ServiceKind.Ai)
                {
                    errors.Add(new ConfigError($"routes.{id}.mirror", $"the route goes to model provider service '{own}', whose calls are not mirrored; remove 'mirror'."));
                }
                else if (string.Equals(mirror.Service, route.Service, StringComparison.Ordinal))
                {
                    errors.Add(new ConfigError($"routes.{id}.mirror.service", $"'{mirror.Service}' is the route's own service; mirror to another one (the new version beside the old)."));
                }
            }

            if (route.Faults is { } faults)
            {
                var path = $"routes.{id}.faults";
                if (faults.Abort is null && faults.Delay is null)
                {
                    errors.Add(new ConfigError(path, "faults need 'abort' or 'delay' (or both), e.g. 'abort: {percent: 10, status: 503}'."));
                }

                if (faults.Abort is { } abort)
                {
                    Percent($"{path}.abort.percent", abort.Percent, errors);
                    if (abort.Status is < 200 or > 599)
                    {
                        errors.Add(new ConfigError($"{path}.abort.status", $"must be an HTTP status from 200 to 599; found {abort.Status}."));
                    }
                }

                if (faults.Delay is { } delay)
                {
                    Percent($"{path}.delay.percent", delay.Percent, errors);
                }

                if (faults.Header is { } h && !IsToken(h))
                {
                    errors.Add(new ConfigError($"{path}.header", $"'{h}' is not a valid header name."));
                }

                for (var i = 0; i < faults.From.Count; i++)
                {
                    if (CheckProxy(faults.From[i]) is { } error)
                    {
                        errors.Add(new ConfigError($"{path}.from[{i}]", error));
                    }
                }
            }
        }
    }

    private static void ValidateRetry(string path, RetryConfig? retry, List<ConfigError> errors)
    {
        if (retry is null)
        {
            return;
        }

        for (var i = 0; i < retry.RetryOn.Count; i++)
        {
            var condition = retry.RetryOn[i];
            if (RetryConditions.Contains(condition))
            {
                continue;
            }

            if (!int.TryParse(condition, out var status) || status is < 400 or > 599)
            {
                errors.Add(new ConfigError($"{path}.retryOn[{i}]", $"'{condition}' is not a retry condition; use connect-failure, reset, timeout, or a 4xx or 5xx status code such as 503."));
            }
        }

        if (retry.MaxBackOff < retry.BackOff)
        {
            errors.Add(new ConfigError($"{path}.maxBackOff", "must not be shorter than 'backOff'."));
        }
    }

    private static void Percent(string path, int value, List<ConfigError> errors)
    {
        if (value > 100)
        {
            errors.Add(new ConfigError(path, $"a percentage is at most 100; found {value}."));
        }
    }
}

using Gatehouse.Model.Config;

namespace Gatehouse.Model.Limits;

/// <summary>
/// One application's count under one quota in one window, as it is kept across restarts: <see cref="Limit"/> names the
/// limit stably (its plan, operation, period and mode, e.g. <c>plan:retail/Day/Enforce</c>), <see cref="Window"/> is the
/// window's number (days since 1970 for a day quota, months for a month quota). A token limit's count is of tokens, and its
/// name starts with <c>tokens|</c>.
/// </summary>
public sealed record QuotaCount(string Application, string Limit, LimitPeriod Per, uint Window, long Count);

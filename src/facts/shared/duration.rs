//! Durations for people: "45s", "42m", "3h5m", "2d4h", as kubectl's AGE column.

pub fn human(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match () {
        _ if days > 0 && hours > 0 => format!("{days}d{hours}h"),
        _ if days > 0 => format!("{days}d"),
        _ if seconds >= 3600 && minutes > 0 => format!("{}h{minutes}m", seconds / 3600),
        _ if seconds >= 3600 => format!("{}h", seconds / 3600),
        _ if seconds >= 60 => format!("{}m", seconds / 60),
        _ => format!("{seconds}s"),
    }
}

/// How long a pod has been Pending, for the fold header "has been
/// Pending {pending_for}", which every fact kind in that group offers.
pub fn pending_for(seconds: Option<i64>) -> String {
    seconds
        .map(human)
        .unwrap_or_else(|| "for an unknown time".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_like_kubectl_age() {
        assert_eq!(super::human(45), "45s");
        assert_eq!(super::human(42 * 60 + 10), "42m");
        assert_eq!(super::human(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(super::human(2 * 86_400 + 4 * 3600), "2d4h");
        assert_eq!(super::human(-5), "0s");
    }
}

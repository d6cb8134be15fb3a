//! Kubernetes resource quantities ("500m", "2Gi", "1e3") as whole milli-units.
//!
//! Requests and allocatable are compared and summed, so they are parsed once
//! into integers here; display turns them back into the units people read.

/// Parses a quantity into milli-units, or `None` when it is not a quantity.
pub fn parse_milli(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: f64 = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => 10f64.powi(exponent[1..].parse().ok()?),
        _ => return None,
    };
    let milli = (number * scale * 1000.0).ceil();
    milli
        .is_finite()
        .then(|| milli.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

/// Formats milli-units of `resource` the way `kubectl describe` shows them.
pub fn format_milli(resource: &str, milli: i64) -> String {
    let is_bytes = resource == "memory"
        || resource == "ephemeral-storage"
        || resource.starts_with("hugepages-");
    if is_bytes {
        let bytes = milli / 1000;
        const UNITS: [(&str, i64); 4] = [
            ("Ti", 1 << 40),
            ("Gi", 1 << 30),
            ("Mi", 1 << 20),
            ("Ki", 1 << 10),
        ];
        for (unit, size) in UNITS {
            if bytes >= size {
                let value = bytes as f64 / size as f64;
                return if (value - value.round()).abs() < 0.05 {
                    format!("{}{unit}", value.round() as i64)
                } else {
                    format!("{value:.1}{unit}")
                };
            }
        }
        return bytes.to_string();
    }
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_suffixes_kubernetes_accepts() {
        assert_eq!(parse_milli("500m"), Some(500));
        assert_eq!(parse_milli("2"), Some(2000));
        assert_eq!(parse_milli("1.5"), Some(1500));
        assert_eq!(parse_milli("2Gi"), Some(2 * 1024 * 1024 * 1024 * 1000));
        assert_eq!(parse_milli("1k"), Some(1_000_000));
        assert_eq!(parse_milli("1e3"), Some(1_000_000));
        assert_eq!(parse_milli("128974848"), Some(128_974_848_000));
        assert_eq!(parse_milli("lots"), None);
        assert_eq!(parse_milli("5Qi"), None);
    }

    #[test]
    fn formats_cpu_memory_and_counts() {
        assert_eq!(format_milli("cpu", 500), "500m");
        assert_eq!(format_milli("cpu", 4000), "4");
        assert_eq!(format_milli("memory", 2 * (1 << 30) * 1000), "2Gi");
        assert_eq!(format_milli("memory", 1536 * (1 << 20) * 1000), "1.5Gi");
        assert_eq!(format_milli("nvidia.com/gpu", 8000), "8");
    }
}

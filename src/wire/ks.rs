//! The `k` of pass@k, mean@k and majority@k as a client writes it: `1,4,8`.

/// Most values of `k` in one request, and the largest.
const MAX_KS: usize = 16;
const MAX_K: u64 = 1024;

/// Parses `1,4,8` into sorted, distinct values of `k`, or says what is wrong with the text.
pub fn parse_ks(text: &str) -> Result<Vec<u64>, String> {
    let mut ks = Vec::new();
    for part in text.split(',') {
        match part.trim().parse::<u64>() {
            Ok(k) if (1..=MAX_K).contains(&k) => ks.push(k),
            _ => {
                return Err(format!(
                    "expected comma-separated whole numbers from 1 to {MAX_K}, got `{text}`"
                ));
            }
        }
    }
    ks.sort_unstable();
    ks.dedup();
    if ks.len() > MAX_KS {
        return Err(format!("at most {MAX_KS} values"));
    }
    Ok(ks)
}

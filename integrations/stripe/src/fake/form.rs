//! Decoding `application/x-www-form-urlencoded` bodies the way Stripe reads them: bracket
//! syntax for nested objects (`metadata[tenant_id]=t1`) and arrays (`line_items[0][price]=…`,
//! `expand[]=…`), into a JSON value the fake's handlers read. Never panics; a malformed key is
//! reported so the fake can answer 400 as Stripe does.

use serde_json::{Map, Value};

/// The `(name, value)` pairs of a form body, in order, percent-decoded (`+` is a space).
pub fn pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Splits `a[b][0][]` into `["a", "b", "0", ""]`; `None` when the brackets do not close.
fn segments(name: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match name.find('[') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut out = vec![head.to_owned()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        out.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    Some(out)
}

/// Inserts `value` at `path` under `node`; `false` on a conflict (a key both a value and an
/// object).
fn insert(node: &mut Map<String, Value>, path: &[String], value: String) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    // `[]` appends: the next free index.
    let key = if first.is_empty() {
        node.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        if node.get(&key).is_some_and(Value::is_object) {
            return false;
        }
        node.insert(key, Value::String(value));
        return true;
    }
    let child = node.entry(key).or_insert_with(|| Value::Object(Map::new()));
    match child {
        Value::Object(map) => insert(map, rest, value),
        _ => false,
    }
}

/// Objects whose keys are exactly `0..n` become arrays, recursively.
fn arrays(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let is_array =
                !map.is_empty() && (0..map.len()).all(|i| map.contains_key(&i.to_string()));
            if is_array {
                let mut map = map;
                let items = (0..map.len())
                    .map(|i| arrays(map.remove(&i.to_string()).unwrap_or(Value::Null)))
                    .collect();
                Value::Array(items)
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

/// The nested value of a form's pairs, or the first name that is not valid bracket syntax.
pub fn nest(pairs: &[(String, String)]) -> Result<Value, String> {
    let mut root = Map::new();
    for (name, value) in pairs {
        let path = segments(name).ok_or_else(|| name.clone())?;
        if !insert(&mut root, &path, value.clone()) {
            return Err(name.clone());
        }
    }
    Ok(arrays(Value::Object(root)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets_nest_objects_and_arrays() {
        let body = b"mode=subscription&line_items[0][price]=price_a&line_items[0][quantity]=2\
&line_items[1][price]=price_b&metadata[tenant_id]=t+1&expand[]=x&expand[]=y\
&subscription_data[metadata][k]=%26v";
        let value = nest(&pairs(body)).unwrap();
        assert_eq!(
            value,
            json!({
                "mode": "subscription",
                "line_items": [{"price": "price_a", "quantity": "2"}, {"price": "price_b"}],
                "metadata": {"tenant_id": "t 1"},
                "expand": ["x", "y"],
                "subscription_data": {"metadata": {"k": "&v"}},
            })
        );
    }

    #[test]
    fn malformed_names_are_reported() {
        for body in [&b"a[b=1"[..], b"[x]=1", b"a=1&a[b]=2", b"a[b]=1&a=2"] {
            assert!(
                nest(&pairs(body)).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

//! Swagger UI lists operations in the spec's order, and poem-openapi orders
//! them by path and then method: `DELETE /v1/tasks`, which can delete every
//! task, came first under its tag. poem-openapi's page has no setting for
//! the order, so its configuration gets Swagger UI's `operationsSorter`.

/// The page with its operations in `order` (by `operationId`) within each
/// tag; operations not named come after those named.
pub fn order_operations(html: &str, order: &[&str]) -> String {
    let ids = serde_json::to_string(order).unwrap_or_else(|_| "[]".to_owned());
    let sorter = format!(
        "operationsSorter: (a, b) => {{ const order = {ids}; \
         const rank = (op) => {{ const at = order.indexOf(op.get('operation').get('operationId')); \
         return at < 0 ? order.length : at; }}; return rank(a) - rank(b); }},"
    );
    html.replacen(ANCHOR, &format!("{ANCHOR}\n        {sorter}"), 1)
}

/// The line of poem-openapi's Swagger UI configuration the sorter follows.
const ANCHOR: &str = "deepLinking: true,";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sorter_lands_in_the_configuration() {
        let page = "SwaggerUIBundle({\n        deepLinking: true,\n    })";
        let ordered = order_operations(page, &["b", "a"]);
        assert!(
            ordered.contains(r#"operationsSorter: (a, b) => { const order = ["b","a"];"#),
            "{ordered}"
        );
    }
}

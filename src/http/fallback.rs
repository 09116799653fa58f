//! What a request that matches no route gets: 405 with `Allow` when the path exists under other
//! methods (taken from the contract itself, so it cannot drift from the route table), else 404.

use actix_web::{web, HttpRequest};
use utoipa::openapi::OpenApi;

use crate::error::ServiceError;

/// The path templates of the contract and the methods each one answers.
pub struct KnownRoutes {
    routes: Vec<(Vec<Segment>, Vec<&'static str>)>,
}

enum Segment {
    Literal(String),
    Parameter,
}

impl KnownRoutes {
    pub fn from_document(document: &OpenApi) -> KnownRoutes {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template
                    .split('/')
                    .map(|part| match part.starts_with('{') && part.ends_with('}') {
                        true => Segment::Parameter,
                        false => Segment::Literal(part.to_string()),
                    })
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (segments, methods)
            })
            .collect();
        KnownRoutes { routes }
    }

    /// Every method the routes at `path` answer, in a stable order. Where templates overlap, the
    /// most literal one wins: `/members/lookup` is that route, not `/members/{member_id}`.
    pub fn methods_at(&self, path: &str) -> Vec<&'static str> {
        let parts: Vec<&str> = path.split('/').collect();
        let matching: Vec<(usize, &Vec<&'static str>)> = self
            .routes
            .iter()
            .filter(|(segments, _)| {
                segments.len() == parts.len()
                    && segments
                        .iter()
                        .zip(&parts)
                        .all(|(segment, part)| match segment {
                            Segment::Literal(literal) => literal == part,
                            Segment::Parameter => !part.is_empty(),
                        })
            })
            .map(|(segments, methods)| {
                let literals = segments
                    .iter()
                    .filter(|segment| matches!(segment, Segment::Literal(_)))
                    .count();
                (literals, methods)
            })
            .collect();
        let most_literal = matching.iter().map(|(literals, _)| *literals).max();
        let mut methods: Vec<&'static str> = matching
            .iter()
            .filter(|(literals, _)| Some(*literals) == most_literal)
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }
}

/// A path that matched a route only by taking a literal segment for an id (`GET /members/lookup`
/// reaching `/members/{member_id}`): if a more literal route owns the path under other methods,
/// the answer is 405, as for any other wrong method.
pub fn wrong_method_behind_a_parameter(req: &HttpRequest) -> Option<ServiceError> {
    let routes = req.app_data::<web::Data<KnownRoutes>>()?;
    let allowed = routes.methods_at(req.path());
    (!allowed.is_empty() && !allowed.contains(&req.method().as_str())).then(|| {
        ServiceError::MethodNotAllowed {
            allow: allowed.join(", "),
        }
    })
}

/// The default service: no route matched this method and path.
pub async fn unmatched(req: HttpRequest, routes: web::Data<KnownRoutes>) -> ServiceError {
    let allowed = routes.methods_at(req.path());
    if allowed.is_empty() {
        ServiceError::NotFound("route")
    } else {
        ServiceError::MethodNotAllowed {
            allow: allowed.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_under_another_method_lists_the_methods_it_answers() {
        let routes = KnownRoutes::from_document(&crate::openapi::document());
        assert_eq!(routes.methods_at("/api/v1/auth/login"), ["POST"]);
        assert_eq!(routes.methods_at("/api/v1/banks/7/entries"), ["POST"]);
        assert_eq!(routes.methods_at("/api/v1/banks"), ["GET", "POST"]);
        assert!(routes.methods_at("/api/v1/nowhere").is_empty());
        assert_eq!(routes.methods_at("/api/v1/members/lookup"), ["POST"]);
        assert_eq!(routes.methods_at("/api/v1/members/7"), ["GET"]);
        assert!(routes.methods_at("/api/v1/banks//entries").is_empty());
    }
}

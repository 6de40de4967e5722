//! The flows. Each one implements [`crate::Flow`]; [`crate::FlowSpec`] builds any of them
//! from one JSON shape.

pub mod api_key;
pub mod authorization_code;
pub mod device;
pub mod discovery;
pub mod mcp;
pub mod registration;
pub mod revocation;
pub mod token_grant;

pub use api_key::{ApiKey, ApiKeyConfig};
pub use authorization_code::{AuthorizationCodeConfig, AuthorizationCodeFlow};
pub use device::{DeviceConfig, DeviceFlow};
pub use discovery::{Discovery, DiscoveryConfig, MetadataDocument};
pub use mcp::{McpDiscovery, McpDiscoveryConfig, McpServer};
pub use registration::{ClientRegistration, Registration, RegistrationConfig};
pub use revocation::{IntrospectionConfig, RevocationConfig, TokenEndpointCall, TokenToSend};
pub use token_grant::{ClientCredentialsConfig, PasswordConfig, RefreshConfig, TokenGrant};

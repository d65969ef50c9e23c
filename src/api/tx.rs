//! The transaction a POST runs in. With an `Idempotency-Key` the idempotency layer opens
//! it (with the key's claim inside) and hands it over here; the handler's `commit` gives
//! it back, and the layer writes the answer into the same transaction before committing.
//! So a change and the answer that replays it commit together or not at all. Without a
//! key, `commit` commits.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use sqlx::{PgConnection, Postgres, Transaction};
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

/// Where the idempotency layer keeps the request's transaction.
#[derive(Default)]
pub enum Slot {
    /// Not taken by the handler (yet).
    Ready(Transaction<'static, Postgres>),
    /// The handler holds it: if it never gives it back, it failed and it rolled back.
    #[default]
    Taken,
    /// The handler committed its work into it.
    Returned(Transaction<'static, Postgres>),
}

/// Shared between the idempotency layer and the handler of one request (one worker
/// thread, so an `Rc`).
#[derive(Clone, Default)]
pub struct Shared(pub Rc<RefCell<Slot>>);

pub struct Tx {
    tx: Transaction<'static, Postgres>,
    shared: Option<Shared>,
}

impl Tx {
    /// Commits, or gives the transaction back to the idempotency layer, which commits it
    /// with the answer.
    pub async fn commit(self) -> Result<(), ApiError> {
        match self.shared {
            Some(s) => {
                *s.0.borrow_mut() = Slot::Returned(self.tx);
                Ok(())
            }
            None => Ok(self.tx.commit().await?),
        }
    }
}

impl Deref for Tx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// The right to the request's transaction, taken by a handler's parameter list.
pub struct TxStart {
    pool: Option<crate::db::Db>,
    shared: Option<Shared>,
}

impl TxStart {
    /// The idempotency layer's transaction when there is one, else a new one.
    pub async fn begin(self) -> Result<Tx, ApiError> {
        if let Some(shared) = self.shared {
            let taken = std::mem::take(&mut *shared.0.borrow_mut());
            return match taken {
                Slot::Ready(tx) => Ok(Tx {
                    tx,
                    shared: Some(shared),
                }),
                _ => Err(ApiError::internal(
                    "the request's transaction was taken twice",
                )),
            };
        }
        let pool = self
            .pool
            .ok_or_else(|| ApiError::internal("AppState missing"))?;
        Ok(Tx {
            tx: pool.begin().await?,
            shared: None,
        })
    }
}

impl FromRequest for TxStart {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(TxStart {
            pool: req
                .app_data::<web::Data<AppState>>()
                .map(|s| s.pool.clone()),
            shared: req.extensions().get::<Shared>().cloned(),
        }))
    }
}

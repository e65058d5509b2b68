//! Channels and statuses as database rows hold them: their names, bound as
//! text and read back into the enum so a row carries `Channel` and `Status`,
//! not text. An unknown name fails the read, as any malformed column does.

use crate::{Channel, Status, TenantId};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// The column type of a value stored as text.
macro_rules! text_column {
    ($ty:ty) => {
        impl<DB: Database> Type<DB> for $ty
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }
    };
}

macro_rules! by_name {
    ($ty:ty) => {
        text_column!($ty);

        impl<'r, DB: Database> Decode<'r, DB> for $ty
        where
            String: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<String as Decode<'r, DB>>::decode(value)?.parse::<$ty>()?)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $ty
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                let name: &'q str = self.as_str();
                <&'q str as Encode<'q, DB>>::encode_by_ref(&name, buf)
            }
        }
    };
}

by_name!(Channel);
by_name!(Status);

// A tenant id is its text: read as a column, bound as a parameter.
text_column!(TenantId);

impl<'r, DB: Database> Decode<'r, DB> for TenantId
where
    String: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(TenantId::new(<String as Decode<'r, DB>>::decode(value)?))
    }
}

impl<'q, DB: Database> Encode<'q, DB> for TenantId
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, DB>>::encode_by_ref(&self.0, buf)
    }
}

//! Strings and `Record<string, string>` headers between JavaScript and Rust in as few N-API
//! calls as they need: for a fast signer, this translation costs as much as the signing.

use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{check_status, sys, Error, Result, Status, ValueType};

/// Strings up to this many bytes are read in one call, without first asking their length.
const STACK_BUFFER: usize = 512;

/// A JavaScript string argument.
pub struct Text(pub String);

/// A `Record<string, string>` argument, in the object's key order. Keys whose value is
/// `undefined` are left out.
pub struct HeaderRecord(pub Vec<(String, String)>);

/// Headers returned as a `Record<string, string>`.
pub struct HeadersOut(pub Vec<(String, String)>);

impl FromNapiValue for Text {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        unsafe { read_string(env, value) }.map(Text)
    }
}

impl TypeName for Text {
    fn type_name() -> &'static str {
        "String"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for Text {}

impl FromNapiValue for HeaderRecord {
    unsafe fn from_napi_value(env: sys::napi_env, object: sys::napi_value) -> Result<Self> {
        let mut names = ptr::null_mut();
        let mut count = 0;
        unsafe {
            check_status!(
                sys::napi_get_property_names(env, object, &mut names),
                "headers must be an object"
            )?;
            check_status!(sys::napi_get_array_length(env, names, &mut count))?;
        }
        let mut headers = Vec::with_capacity(count as usize + 4);
        for i in 0..count {
            let (mut key, mut value) = (ptr::null_mut(), ptr::null_mut());
            unsafe {
                check_status!(sys::napi_get_element(env, names, i, &mut key))?;
                check_status!(sys::napi_get_property(env, object, key, &mut value))?;
            }
            let name = unsafe { read_string(env, key) }?;
            match unsafe { read_string(env, value) } {
                Ok(value) => headers.push((name, value)),
                Err(_) if unsafe { type_of(env, value) }? == ValueType::Undefined => {}
                Err(_) => {
                    return Err(Error::new(Status::InvalidArg, format!("header '{name}' must be a string")));
                }
            }
        }
        Ok(HeaderRecord(headers))
    }
}

impl TypeName for HeaderRecord {
    fn type_name() -> &'static str {
        "Record<string, string>"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for HeaderRecord {}

impl ToNapiValue for HeadersOut {
    unsafe fn to_napi_value(env: sys::napi_env, headers: Self) -> Result<sys::napi_value> {
        let mut object = ptr::null_mut();
        unsafe { check_status!(sys::napi_create_object(env, &mut object)) }?;
        for (name, value) in &headers.0 {
            let value = unsafe { new_string(env, value) }?;
            // Names the signature adds are interned once by V8 through their static C strings.
            let status = match static_name(name) {
                Some(name) => unsafe { sys::napi_set_named_property(env, object, name.as_ptr(), value) },
                None => {
                    let name = unsafe { new_string(env, name) }?;
                    unsafe { sys::napi_set_property(env, object, name, value) }
                }
            };
            check_status!(status)?;
        }
        Ok(object)
    }
}

fn static_name(name: &str) -> Option<&'static CStr> {
    Some(match name {
        "host" => c"host",
        "x-amz-date" => c"x-amz-date",
        "authorization" => c"authorization",
        "x-amz-content-sha256" => c"x-amz-content-sha256",
        "x-amz-security-token" => c"x-amz-security-token",
        _ => return None,
    })
}

/// Reads a string into Rust, trying a stack buffer first; errors if `value` is not a string.
unsafe fn read_string(env: sys::napi_env, value: sys::napi_value) -> Result<String> {
    let mut buffer = [0u8; STACK_BUFFER];
    let mut len = 0;
    let status = unsafe {
        sys::napi_get_value_string_utf8(env, value, buffer.as_mut_ptr().cast(), STACK_BUFFER, &mut len)
    };
    check_status!(status, "expected a string")?;
    // A character is never split, so a string that fits leaves at least four bytes spare.
    if len + 4 < STACK_BUFFER - 1 {
        return utf8(buffer[..len].to_vec());
    }
    unsafe { check_status!(sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len)) }?;
    let mut bytes = vec![0u8; len + 1];
    let status =
        unsafe { sys::napi_get_value_string_utf8(env, value, bytes.as_mut_ptr().cast(), len + 1, &mut len) };
    check_status!(status)?;
    bytes.truncate(len);
    utf8(bytes)
}

fn utf8(bytes: Vec<u8>) -> Result<String> {
    // V8 writes lone surrogates as U+FFFD, so this holds; checked all the same.
    String::from_utf8(bytes).map_err(|_| Error::new(Status::InvalidArg, "a string is not valid UTF-8"))
}

unsafe fn new_string(env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_create_string_utf8(
            env,
            text.as_ptr().cast(),
            text.len() as isize,
            &mut value
        ))
    }?;
    Ok(value)
}

unsafe fn type_of(env: sys::napi_env, value: sys::napi_value) -> Result<ValueType> {
    let mut kind = 0;
    unsafe { check_status!(sys::napi_typeof(env, value, &mut kind)) }?;
    Ok(ValueType::from(kind))
}

// The API's shapes, named for the app. Every one is generated from the
// OpenAPI document into schema.d.ts (make api-types); nothing here is
// written by hand but the names.
import type { components } from './schema'

type Schemas = components['schemas']

export type FieldError = Schemas['ApperrFieldError']
export type Problem = Schemas['ApiProblem']
export type SessionInfo = Schemas['AuthSessionInfo']
export type Tokens = Schemas['AuthTokens']
export type Session = Schemas['AuthSession']
export type Account = Schemas['UserAccount']
export type Profile = Schemas['UserProfile']
export type ProfileInput = Schemas['UserProfileInput']
export type ProfilePatch = Schemas['UserProfilePatch']
export type SignUpInput = Schemas['UserSignUpInput']
export type Image = Schemas['ContentImage']
export type ImageSize = Schemas['ContentImageSize']
export type Genre = Schemas['ContentGenre']
export type Title = Schemas['ContentTitle']
export type TitleDetails = Schemas['ContentTitleDetails']
export type Episode = Schemas['ContentEpisode']
export type Season = Schemas['ContentSeason']
export type Credit = Schemas['ContentCredit']
export type Row = Schemas['ContentRow']
export type TitlePage = Schemas['ContentPage']
export type Notification = Schemas['NotifyNotification']
export type NotificationPage = Schemas['NotifyNotificationPage']
export type Preference = Schemas['NotifyPreference']
export type PreferenceChange = Schemas['NotifyPreferenceChange']

// Page is the shape of every list: {items, next_cursor}.
export interface Page<T> {
  items: T[]
  next_cursor?: string
}
export type Plan = Schemas['PaymentPlan']
export type Price = Schemas['PaymentPrice']
export type Subscription = Schemas['PaymentSubscription']
export type Invoice = Schemas['PaymentInvoice']

import { lazy, Suspense } from 'react'
import { Navigate, Outlet, Route, Routes, useLocation } from 'react-router'
import { useProfileId, useSession } from './auth/session'
import { Shell } from './components/Shell'
import { PageSkeleton, Splash } from './components/Skeleton'
import { Home } from './pages/Home'
import { Profiles } from './pages/Profiles'
import { SignIn } from './pages/SignIn'
import { NotFound } from './pages/NotFound'

const SignUp = lazy(() => import('./pages/SignUp'))
const ForgotPassword = lazy(() => import('./pages/ForgotPassword'))
const ResetPassword = lazy(() => import('./pages/ResetPassword'))
const VerifyEmail = lazy(() => import('./pages/VerifyEmail'))
const ProfileEdit = lazy(() => import('./pages/ProfileEdit'))
const TitlePage = lazy(() => import('./pages/TitlePage'))
const Search = lazy(() => import('./pages/Search'))
const Account = lazy(() => import('./pages/Account'))
const Inbox = lazy(() => import('./pages/Inbox'))
const NotificationSettings = lazy(() => import('./pages/NotificationSettings'))
const Plans = lazy(() => import('./pages/Plans'))

export function App() {
  const { boot, retryBoot } = useSession()
  if (boot === 'resuming') return <Splash />
  if (boot === 'unreachable') return <Splash error onRetry={retryBoot} />
  return (
    <Suspense fallback={<PageSkeleton />}>
      <Routes>
        {/* Pages anyone can open: email links land on them. */}
        <Route path="/verify-email" element={<VerifyEmail />} />
        <Route path="/reset-password" element={<ResetPassword />} />
        <Route element={<SignedOutOnly />}>
          <Route path="/signin" element={<SignIn />} />
          <Route path="/signup" element={<SignUp />} />
          <Route path="/forgot-password" element={<ForgotPassword />} />
        </Route>
        <Route element={<SignedIn />}>
          <Route path="/profiles" element={<Profiles />} />
          <Route path="/profiles/new" element={<ProfileEdit />} />
          <Route path="/profiles/:id/edit" element={<ProfileEdit />} />
          <Route element={<Shell />}>
            <Route path="/account" element={<Account />} />
            <Route path="/account/billing" element={<Account />} />
            <Route path="/plans" element={<Plans />} />
            <Route path="/notifications" element={<Inbox />} />
            <Route path="/settings/notifications" element={<NotificationSettings />} />
            <Route element={<WithProfile />}>
              <Route path="/" element={<Home />} />
              <Route path="/titles/:id" element={<TitlePage />} />
              <Route path="/search" element={<Search />} />
            </Route>
          </Route>
        </Route>
        <Route path="*" element={<NotFound />} />
      </Routes>
    </Suspense>
  )
}

// SignedIn sends visitors to the sign-in page, remembering where they were
// going.
function SignedIn() {
  const { state } = useSession()
  const loc = useLocation()
  if (state.status !== 'signed-in') {
    const next = loc.pathname + loc.search
    return <Navigate to={`/signin${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`} replace state={{ reason: state.reason }} />
  }
  return <Outlet />
}

function SignedOutOnly() {
  const { state } = useSession()
  const loc = useLocation()
  if (state.status === 'signed-in') {
    const next = new URLSearchParams(loc.search).get('next')
    return <Navigate to={next && next.startsWith('/') && !next.startsWith('//') ? next : '/profiles'} replace />
  }
  return <Outlet />
}

// WithProfile: browsing needs a profile ("Who's watching?").
function WithProfile() {
  const profileId = useProfileId()
  if (!profileId) return <Navigate to="/profiles" replace />
  return <Outlet />
}
